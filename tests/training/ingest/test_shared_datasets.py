from itertools import islice
from pathlib import Path

import pytest

from training.ingest import IngestReport, read_conversations

DATASETS = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"
BITEXT = DATASETS / "bitext_support" / "bitext_support_qa.csv"
TASKMASTER = DATASETS / "taskmaster4" / "data_00.json"


@pytest.mark.skipif(not BITEXT.is_file(), reason=f"shared Bitext data not found at {BITEXT}")
def test_first_200_bitext_rows():
    report = IngestReport()
    conversations = list(islice(read_conversations(BITEXT, report=report), 200))
    assert len(conversations) == 200
    assert report.total_rejected == 0
    first = conversations[0]
    assert [t.role for t in first.turns] == ["customer", "agent"]
    assert first.turns[0].text == "how can I cancel purchase 113542617735902?"
    assert first.turns[0].intent == "cancel_order"
    assert first.turns[1].text.startswith("I understand how unnerving it can be")
    assert "\n" in first.turns[1].text  # multi-line quoted replies survive
    assert all(c.turns[0].intent for c in conversations)


@pytest.mark.skipif(
    not TASKMASTER.is_file(), reason=f"shared Taskmaster data not found at {TASKMASTER}"
)
def test_first_taskmaster_dialogues():
    report = IngestReport()
    conversations = list(islice(read_conversations(TASKMASTER, report=report), 5))
    assert len(conversations) == 5
    assert report.total_rejected == 0
    first = conversations[0]
    assert first.id == "dlg-881444f3-24fc-4e54-ac61-2196f60e88fa"
    assert first.turns[0].role == "customer"
    assert first.turns[0].text == "one Chai Latte please"
    assert first.turns[1].role == "agent"
    assert {t.role for c in conversations for t in c.turns} == {"customer", "agent"}
