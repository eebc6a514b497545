"""Randomization on the central server: allocation lists (stratified permuted blocks), atomic
assignment, emergency unblinding, code-break records, corrections and the pharmacy's exports.

The list and every arm stay in this package's tables: no answer to a laptop names an arm, except the
emergency unblinding of one subject to an investigator. Only unblinded server roles (pharmacist,
statistician) read the list, through the `cik-ecrf server randomization` commands.
"""
