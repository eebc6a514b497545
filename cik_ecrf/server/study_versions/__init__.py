"""Published study versions on the server: the table of versions, each instance's form version, the
`study publish` / `study list` commands, the endpoint laptops fetch new versions from, and the
per-change choice of definitions in a push."""
