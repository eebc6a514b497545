"""Blinding: every answer, file and printout a blinded user can obtain is searched for the arms.

Searched: the randomize answers and every refusal, the pull pages a laptop receives, the laptop's
store after decryption (every table, every row) and its raw file, the laptop's audit trail, the
subject's printed casebook (PDF text), the laptop commands' output, and the server's lists for the
data manager. The one answer allowed to name an arm (emergency unblinding, to the investigator) is
left out. The study's title ("CIK cell therapy…", also in Chinese) is removed before searching: it
names the therapy, not anybody's arm. As a control, the pharmacist's export is searched the same way
and must name every arm.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import text
from trial import PW, Trial, enter_subject, sync

from cik_ecrf.cli import main
from cik_ecrf.server.randomization import assign
from cik_ecrf.sync.protocol import API
from cik_ecrf.sync.randomization_protocol import RANDOMIZE, UNBLIND
from cik_ecrf.sync.randomize import unblind

ARM_PATTERNS = [
    r"(?<![A-Za-z0-9_-])CONTROL(?![A-Za-z0-9_])",
    r"(?<![A-Za-z0-9_-])MRNA_CIK(?![A-Za-z0-9_])",
    r"(?<![A-Za-z0-9_-])CIK(?![A-Za-z0-9_-])",
    r"mRNA-CIK",
    r"CIK cells",
    r"CIK细胞",
    r"Control cells",
    r"peripheral blood lymphocytes",
    r"对照细胞",
    r"外周血淋巴细胞",
]
#: the text each pattern looks for
ARM_NAMES = [re.sub(r"\(\?<?[!=][^)]*\)", "", p) for p in ARM_PATTERNS]
#: tables of the laptop store that hold the study's definitions (the design lists the arms, by design)
DEFINITION_TABLES = ("study_version", "definition")


def _scrubbed(study, text_: str) -> str:
    """The text with whitespace runs made one space (a PDF wraps lines) and the study's title removed."""
    text_ = " ".join(text_.split())
    for title in (study.study.title.en, study.study.title.zh):
        text_ = text_.replace(" ".join(title.split()), " ")
    # a page header shortens the title: its opening words name the therapy under study, not an arm
    return text_.replace("CIK cell therapy", " ").replace("CIK细胞治疗", " ")


def arm_words(study, text_: str) -> list[str]:
    text_ = _scrubbed(study, text_)
    return sorted({m.group(0) for p in ARM_PATTERNS for m in re.finditer(p, text_)})


def arm_contexts(study, text_: str, shortest: int = 0) -> list[str]:
    """Where an arm is named; `shortest`: only the names of at least that many characters."""
    text_ = _scrubbed(study, text_)
    patterns = [p for p, name in zip(ARM_PATTERNS, ARM_NAMES, strict=True) if len(name) >= shortest]
    return [text_[max(0, m.start() - 60) : m.end() + 30] for p in patterns for m in re.finditer(p, text_)][:5]


def _run(argv: list[str]) -> tuple[int, str]:
    """Exit code, and standard output then standard error (the server's log lines, when it runs in
    this process, arrive on standard error too: they are searched with the rest)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + "\n" + err.getvalue()


def _store_dump(store) -> str:
    chunks = []
    with store.engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
        for table in tables:
            if any(word in table for word in DEFINITION_TABLES):
                continue
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(f"{table}: {tuple(row)}")
    return "\n".join(chunks)


def test_no_blinded_user_can_find_an_arm(trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PW)
    inv = trial.laptop("inv1", "inv-laptop")
    nurse = trial.laptop("nurse1", "nurse-laptop")
    adults = [enter_subject(inv, age=30) for _ in range(3)]
    child = enter_subject(inv, age=10)
    ineligible = enter_subject(inv, eligible=False)
    seen: dict[str, str] = {}
    token = inv.sync_settings()["token"]
    ids = {n: inv.randomization.subject_id(n) for n in [*adults, child, ineligible]}
    with httpx.Client(base_url=trial.live.url + API, headers={"Authorization": f"Bearer {token}"}) as http:
        for number in [*adults, child]:
            reply = http.post(RANDOMIZE, json={"subject_id": ids[number], "username": "inv1", "password": PW})
            assert reply.status_code == 200
            seen[f"randomize answer {number}"] = reply.text
            seen[f"randomize retry {number}"] = http.post(
                RANDOMIZE, json={"subject_id": ids[number], "username": "inv1", "password": PW}
            ).text
        for user, number in (("nurse1", adults[0]), ("inv1", ineligible), ("mon1", adults[1])):
            reply = http.post(RANDOMIZE, json={"subject_id": ids[number], "username": user, "password": PW})
            assert 400 <= reply.status_code < 500
            seen[f"refusal {user} {number}"] = reply.text
        reply = http.post(
            UNBLIND, json={"subject_id": ids[adults[0]], "username": "nurse1", "password": PW, "reason": "curious"}
        )
        assert reply.status_code == 403
        seen["unblind refused to a nurse"] = reply.text
    sync(inv)
    # the allowed exception: the investigator's emergency unblinding (its answer is not searched)
    arm = unblind(inv, adults[0], "inv1", PW, "anaphylaxis during infusion")
    assign.void(
        trial.engine,
        assign.Who("dm1", "data_manager", "", "server"),
        inv.randomization.allocation(adults[2]).randno,
        "wrong subject",
        allow_again=False,
    )
    sync(inv)
    sync(nurse)
    with httpx.Client(base_url=trial.live.url + API, headers={"Authorization": f"Bearer {token}"}) as http:
        page = http.get("/pull", params={"cursor": 0, "limit": 10000})
        seen["pull page (everything the site's laptops receive)"] = page.text
        assert "randomized" in page.text and "unblinded" in page.text and "randomization_voided" in page.text
    for name, store in (("investigator", inv), ("nurse", nurse)):
        seen[f"{name} laptop store, decrypted"] = _store_dump(store)
        seen[f"{name} audit trail"] = "\n".join(
            json.dumps({c.name: getattr(e, c.name) for c in e.__table__.columns}, default=str, ensure_ascii=False)
            for e in store.audit_events()
        )
        seen[f"{name} allocations"] = repr(store.randomization.allocations())
    for store in trial.laptops:
        store.close()
    trial.laptops.clear()
    ciphertext: dict[str, str] = {}
    for path in (tmp_path / "inv-laptop").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.name.startswith("store.db"):  # SQLCipher's pages: not one of them in the clear
                assert not data.startswith(b"SQLite format 3\x00"), path
                ciphertext[f"raw file {path.name}"] = data.decode("latin-1")
            else:
                seen[f"raw file {path.name}"] = data.decode("latin-1")
    base = ["--data-dir", str(tmp_path / "inv-laptop"), "--user", "inv1"]
    code, out = _run(["randomize", adults[1], "--json", *base])
    assert code == 0 and json.loads(out.splitlines()[0])["RANDNO"]
    seen["cik-ecrf randomize --json"] = out
    code, out = _run(["randomize", ineligible, *base])
    assert code == 1
    seen["cik-ecrf randomize refused"] = out
    for number in (adults[0], adults[1], child):
        pdf = tmp_path / f"{number}.pdf"
        code, out = _run(["pdf", number, "-o", str(pdf), *base])
        assert code == 0, out
        seen[f"casebook PDF of {number}"] = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
        seen[f"cik-ecrf pdf {number}"] = out
    server = ["--database-url", trial.url]
    for argv in (["randomization", "list", "--user", "dm1"], ["unblinding", "list", "--user", "dm1"]):
        code, out = _run(["server", *server[:0], *argv[:1], *argv[1:], *server])
        assert code == 0, out
        seen[f"cik-ecrf server {' '.join(argv)}"] = out
    assert "anaphylaxis during infusion" in seen["cik-ecrf server unblinding list --user dm1"]
    found = {where: contexts for where, body in seen.items() if (contexts := arm_contexts(trial.study, body))}
    # ciphertext is searched for the arms' longer names only: a three-letter one ("CIK") turns up by chance
    # in about one 0.7 MB encrypted store in fifty (its decrypted rows are searched for every name above)
    found |= {where: contexts for where, body in ciphertext.items() if (contexts := arm_contexts(trial.study, body, 6))}
    assert not found, found
    assert arm in ("CONTROL", "CIK", "MRNA_CIK")
    # control: the pharmacist's export names every arm, and the same search finds them
    export = tmp_path / "pharmacy.csv"
    code, out = _run(
        ["server", "randomization", "export", "--role", "pharmacist", "-o", str(export), "--user", "pharm1", *server]
    )
    assert code == 0, out
    assert {"CONTROL", "CIK", "MRNA_CIK"} <= set(arm_words(trial.study, export.read_text(encoding="utf-8-sig")))
    assert not arm_words(trial.study, out)  # the command's own output names no arm
