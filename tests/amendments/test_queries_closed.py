"""A monitoring query on a field an amendment removed is closed by the server when the instance moves
to the new version, with that as the reason; every laptop sees it closed."""

from __future__ import annotations

from amend import VITALS, Site, amended, field, mapping_file, publish
from sync_fixtures import save, sync


def test_a_query_on_a_removed_field_is_closed_at_the_upgrade(site: Site, study, capsys) -> None:
    nurse = site.laptop("a", "nurse1", study)
    monitor = site.laptop("m", "monitor1", study)
    number = nurse.add_subject()
    old = save(nurse, number, "D1", "vitals", VITALS)
    sync(nurse), sync(monitor)
    on_resp = monitor.monitoring.open_query(number, "D1", "vitals", "RESP", text="RESP 20: check the chart")
    on_hr = monitor.monitoring.open_query(number, "D1", "vitals", "HR", text="HR 80: check the chart")
    sync(monitor), sync(nurse)

    v2 = amended(site.tmp, "v2", lambda form: form["fields"].remove(field(form, "RESP")))
    mapping = mapping_file(site.tmp, {"forms": {"vitals": {"removed": ["RESP"]}}})
    assert publish(capsys, site.url, v2, "--mapping", str(mapping))[0] == 0
    sync(nurse)
    nurse.amendments.upgrade(old, "amendment 2: RESP no longer collected")
    sync(nurse), sync(monitor)

    for laptop in (nurse, monitor):
        closed = laptop.monitoring.query(on_resp)
        assert closed.status == "closed"
        last = laptop.monitoring.thread(on_resp)[-1]
        assert last.transition == "item_removed" and "RESP was removed from vitals in version 1.1" in last.text
        assert laptop.monitoring.query(on_hr).status == "open"  # a field still on the form keeps its query
    with site.engine.connect() as conn:
        statuses = dict(conn.exec_driver_sql("SELECT id, status FROM monitoring_query").all())
    assert statuses == {on_resp: "closed", on_hr: "open"}
