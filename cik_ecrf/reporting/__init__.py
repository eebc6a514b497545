"""Study-level reports (no Qt): the numbers behind the client's dashboard and `cik-ecrf report`."""
