"""Printed CRFs (ReportLab): one form, one visit, a casebook, the blank CRF set; and their content hash."""
