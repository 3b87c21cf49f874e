"""Knowledge answers on Bitext: its replies as the knowledge, held-back requests as questions.

Issue 19 asks for the knowledge-answer figures of the sample help centre on a second data
set too. This script turns the Bitext customer-support sample (4,514 requests with the
agent's reply, 27 intents; ``../shared/datasets/bitext_support``, CDLA-Sharing-1.0, read in
place and never copied into the repository) into a help centre and a question set, then runs
the project's own commands on them, each in a subprocess, exactly as a user would:

1. ``python -m training kb`` ingests the knowledge folder;
2. ``python -m training.evaluate answers`` on the development half: system (a), the cited
   extract (what the bot serves), with the default answerability model (fitted on the
   sample company's questions); and (a) against (b), the base SmolLM2 with the passages,
   on the first ``--limit`` questions (``--skip-base`` leaves (b) out);
3. ``python -m training kb-answerability`` fits the answerable check on the Bitext
   development half; the evaluation runs again with it;
4. the test half, once: (a) with the default model (a generalisation test: a model fitted
   on another company's questions) and with the model fitted on Bitext's development half,
   and (a) against (b) on its first ``--limit`` questions.

**The conversion** (:func:`build_bitext_set`, seeded; nothing is run before the halves are
fixed):

* ``--held-out-intents`` whole intents, drawn by seed, are *unanswerable*: none of their
  replies enters the knowledge, and ``--unanswerable-per-intent`` of their requests become
  questions with no article and no reference. The draw leaves out the intents that are not
  questions a help centre answers (:data:`NOT_HELD_OUT`: asking for a person or for
  customer service, a complaint, a review).
* Of every other intent, ``--questions-per-intent`` rows are held back: their requests
  become answerable questions, with their own reply as the reference answer. Up to
  ``--knowledge-per-intent`` of the remaining rows become the knowledge. No row is in both.
* The knowledge is **one Markdown article per intent** (``<category>/<intent>.md``, titled
  by the intent), with one ``##`` section per row: the customer's request as the heading
  and the agent's reply as the text. So recall@k means "a passage of the right intent's
  article is in the top k", and a question's ``article`` names that file. A FAQ CSV was
  not used: the ingest makes one document per CSV (one file would make recall always
  100%), and even with a CSV per intent it opens each chunk with ``Q: <question>``,
  which the gate's extract, picking the sentences closest to the customer's question,
  would quote back instead of the reply. In Markdown the request is
  the section heading: it is searched and embedded with the chunk, but never extracted.
* Questions go to ``dev`` and ``test`` within each intent, alternately after a seeded
  shuffle (so both halves hold every intent), and the file is shuffled once more so that
  ``--limit``'s "first N questions" is a random sample of the half.

Usage:
    nice -n 10 .venv/bin/python bench/knowledge_bitext.py [--data CSV] [--out DIR]
        [--seed 0] [--limit 40] [--skip-base] [--held-out-intents 4]
        [--knowledge-per-intent 40] [--questions-per-intent 12]
        [--unanswerable-per-intent 16]

Writes ``summary.json`` and ``summary.md`` (every run's figures side by side) into
``--out`` (default ``bench/results/knowledge_bitext``, git-ignored), beside the knowledge
folder, the question set and each run's ``answers.json``/``answers.md``. Exits 2 when the
data set is missing or malformed, 1 when a step fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.errors import BotError, TrainingDataError  # noqa: E402
from training.evaluate.answer_metrics import ms_cell, pct  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "bitext_support" / "bitext_support_qa.csv"
RESULTS = ROOT / "bench" / "results" / "knowledge_bitext"

REQUIRED_COLUMNS = ("instruction", "intent", "category", "response")
NOT_HELD_OUT = frozenset({"contact_human_agent", "contact_customer_service", "complaint", "review"})
"""Intents never drawn as unanswerable: they ask for a person or give feedback, not a
question the help centre answers, so declining them tests nothing about missing knowledge."""

logger = logging.getLogger("bench.knowledge_bitext")


class DatasetError(TrainingDataError):
    """The Bitext CSV is missing, unreadable or lacks a column, or is too small for the split."""


@dataclass(frozen=True)
class BitextRow:
    """One Bitext row: a customer request and the agent's reply.

    Attributes:
        row: Its position in the CSV (0-based, header excluded).
        request: The customer's message.
        reply: The agent's reply.
        intent: The intent label (``cancel_order``).
        category: The intent's category (``ORDER``).
    """

    row: int
    request: str
    reply: str
    intent: str
    category: str


@dataclass(frozen=True)
class SetSizes:
    """How many rows go where.

    Attributes:
        held_out_intents: Whole intents made unanswerable.
        knowledge_per_intent: Rows of each answerable intent that become knowledge (0: all
            that are not questions).
        questions_per_intent: Rows of each answerable intent held back as questions.
        unanswerable_per_intent: Requests of each held-out intent asked as questions.
    """

    held_out_intents: int = 4
    knowledge_per_intent: int = 40
    questions_per_intent: int = 12
    unanswerable_per_intent: int = 16


@dataclass(frozen=True)
class BitextSet:
    """The knowledge articles and the question set built from Bitext.

    Attributes:
        articles: Relative path (``order/cancel_order.md``) -> Markdown text.
        questions: Question-set records (the ``data/knowledge_questions`` format, plus
            ``intent``), in file order.
        held_out: The unanswerable intents, sorted.
        knowledge_rows: The CSV rows that became knowledge, sorted.
        question_rows: The CSV rows that became questions, sorted.
    """

    articles: dict[str, str]
    questions: list[dict[str, Any]]
    held_out: tuple[str, ...]
    knowledge_rows: tuple[int, ...]
    question_rows: tuple[int, ...]


def read_bitext(path: Path) -> list[BitextRow]:
    """Read the Bitext CSV.

    Args:
        path: ``bitext_support_qa.csv``.

    Returns:
        Its rows, in file order (rows with an empty request, reply or intent skipped).

    Raises:
        DatasetError: If the file is missing or unreadable, or a column is missing.
    """
    if not path.is_file():
        raise DatasetError(
            f"no Bitext data at {path}: it lives in ../shared/datasets/bitext_support "
            "(see ../shared/datasets/README.md), or pass --data"
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path} lacks the column(s) {', '.join(missing)}")
            rows = [
                BitextRow(
                    i,
                    " ".join(r["instruction"].split()),
                    r["response"].replace("\r\n", "\n").replace("\r", "\n").strip(),
                    r["intent"].strip(),
                    r["category"].strip(),
                )
                for i, r in enumerate(reader)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    return [r for r in rows if r.request and r.reply and r.intent]


def article_path(row: BitextRow) -> str:
    """The knowledge article of a row's intent, relative to the knowledge folder."""
    category = re.sub(r"[^a-z0-9_]+", "_", row.category.lower()) or "other"
    return f"{category}/{re.sub(r'[^a-z0-9_]+', '_', row.intent.lower())}.md"


def _heading(request: str) -> str:
    """A request as a one-line Markdown heading (no leading or closing ``#`` run)."""
    return request.strip().strip("#").strip() or "(request)"


def render_article(intent: str, rows: Sequence[BitextRow]) -> str:
    """One intent's article: a title, then one section per (request, reply) row.

    Args:
        intent: The intent label; the title is it made readable (``Cancel order``).
        rows: Its knowledge rows.

    Returns:
        The Markdown text.
    """
    title = intent.replace("_", " ").strip().capitalize()
    parts = [f"---\ntitle: {json.dumps(title)}\n---\n", f"# {title}\n"]
    parts += [f"## {_heading(r.request)}\n\n{r.reply}\n" for r in rows]
    return "\n".join(parts)


def build_bitext_set(rows: Sequence[BitextRow], seed: int, sizes: SetSizes) -> BitextSet:
    """Split Bitext into knowledge articles and a question set with dev and test halves.

    Args:
        rows: The CSV's rows.
        seed: Seeds every draw: held-out intents, rows, halves and file order.
        sizes: How many rows go where.

    Returns:
        The articles and questions.

    Raises:
        DatasetError: If there are too few intents to hold some out, or an intent has too
            few rows for its questions.
    """
    rng = random.Random(seed)
    by_intent: dict[str, list[BitextRow]] = defaultdict(list)
    for row in rows:
        by_intent[row.intent].append(row)
    eligible = sorted(i for i in by_intent if i not in NOT_HELD_OUT)
    if sizes.held_out_intents >= len(eligible):
        raise DatasetError(
            f"cannot hold out {sizes.held_out_intents} of {len(eligible)} eligible intents "
            "and still have an answerable one"
        )
    held_out = tuple(sorted(rng.sample(eligible, sizes.held_out_intents)))
    articles: dict[str, str] = {}
    drafts: list[tuple[BitextRow, bool]] = []  # (row, answerable), before halves and ids
    knowledge_rows: list[int] = []
    for intent in sorted(by_intent):
        members = list(by_intent[intent])
        rng.shuffle(members)
        wanted = sizes.unanswerable_per_intent if intent in held_out else sizes.questions_per_intent
        if len(members) < wanted + (0 if intent in held_out else 1):
            raise DatasetError(f"intent {intent!r} has {len(members)} rows, too few")
        asked, rest = members[:wanted], members[wanted:]
        drafts += [(r, intent not in held_out) for r in asked]
        if intent in held_out:
            continue
        known = rest[: sizes.knowledge_per_intent] if sizes.knowledge_per_intent else rest
        known.sort(key=lambda r: r.row)
        articles[article_path(known[0])] = render_article(intent, known)
        knowledge_rows += [r.row for r in known]
    halves = _halves(drafts, rng)
    order = list(range(len(drafts)))
    rng.shuffle(order)
    questions = []
    for number, at in enumerate(order, start=1):
        row, answerable = drafts[at]
        questions.append(
            {
                "id": f"bx-{number:04d}",
                "question": row.request,
                "article": article_path(row) if answerable else None,
                "answer": row.reply if answerable else None,
                "answerable": answerable,
                "split": halves[at],
                "intent": row.intent,
            }
        )
    return BitextSet(
        articles=articles,
        questions=questions,
        held_out=held_out,
        knowledge_rows=tuple(sorted(knowledge_rows)),
        question_rows=tuple(sorted(r.row for r, _ in drafts)),
    )


def _halves(drafts: Sequence[tuple[BitextRow, bool]], rng: random.Random) -> list[str]:
    """Dev or test for each draft: alternately within each intent, from a random start."""
    halves = [""] * len(drafts)
    positions: dict[str, list[int]] = defaultdict(list)
    for at, (row, _) in enumerate(drafts):
        positions[row.intent].append(at)
    for intent in sorted(positions):
        first = rng.randrange(2)
        for n, at in enumerate(positions[intent]):
            halves[at] = ("dev", "test")[(n + first) % 2]
    return halves


def write_bitext_set(bitext: BitextSet, knowledge: Path, questions: Path) -> None:
    """Write the articles under ``knowledge`` (replacing it) and the questions as JSONL.

    Args:
        bitext: What :func:`build_bitext_set` returned.
        knowledge: The knowledge folder (emptied first).
        questions: The question-set file.
    """
    if knowledge.exists():
        shutil.rmtree(knowledge)
    for relative, text in bitext.articles.items():
        path = knowledge / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    questions.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(q, ensure_ascii=False) for q in bitext.questions]
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- running the project's commands ----------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command of the benchmark.

    Attributes:
        name: Its key in the summary (``dev-default``).
        args: The arguments after ``python -m``.
        answers: The ``--out`` folder of an evaluation, or None for another command.
    """

    name: str
    args: tuple[str, ...]
    answers: Path | None = None


class StepFailed(BotError):
    """A command exited with a status other than 0."""


def run_step(step: Step, log: Path) -> float:
    """Run one command with this interpreter, its output appended to ``log``.

    Args:
        step: The command.
        log: The file that collects every command's output.

    Returns:
        Its wall time in seconds.

    Raises:
        StepFailed: If it exits with a status other than 0.
    """
    command = [sys.executable, "-m", *step.args]
    logger.info("[%s] %s", step.name, " ".join(["python", "-m", *step.args]))
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n=== {step.name}: python -m {' '.join(step.args)}\n")
        out.flush()
        status = subprocess.run(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    seconds = time.perf_counter() - started
    if status != 0:
        raise StepFailed(f"step {step.name!r} exited {status}; its output is in {log}")
    logger.info("[%s] done in %.0f s", step.name, seconds)
    return seconds


def plan(out: Path, limit: int, skip_base: bool) -> list[Step]:
    """The benchmark's commands, in order.

    Args:
        out: The output folder.
        limit: Questions per half for the (a)-against-(b) runs.
        skip_base: Leave the base model's runs out.

    Returns:
        The steps.
    """
    questions = str(out / "questions.jsonl")
    kb, fitted = out / "kb", out / "kb-fitted"

    def answers(name: str, folder: Path, split: str, systems: str, n: int = 0) -> Step:
        args = ["training.evaluate", "answers", "--kb", str(folder), "--questions", questions]
        args += ["--split", split, "--systems", systems, "--out", str(out / name)]
        args += ["--limit", str(n)] if n else []
        return Step(name, tuple(args), out / name)

    steps = [
        Step("kb", ("training", "kb", "--input", str(out / "knowledge"), "--out", str(kb))),
        answers("dev-default", kb, "dev", "retrieval"),
        Step(
            "fit",
            ("training", "kb-answerability", "--kb", str(kb), "--questions", questions)
            + ("--out", str(fitted / "answerability.json")),
        ),
        answers("dev-fitted", fitted, "dev", "retrieval"),
    ]
    if not skip_base:
        steps.append(answers("dev-base", fitted, "dev", "retrieval,base", limit))
    steps += [
        answers("test-default", kb, "test", "retrieval"),
        answers("test-fitted", fitted, "test", "retrieval"),
    ]
    if not skip_base:
        steps.append(answers("test-base", fitted, "test", "retrieval,base", limit))
    return steps


def copy_kb(kb: Path, fitted: Path) -> None:
    """Copy the ingested knowledge base to a second folder for the fitted model.

    The evaluation reads ``answerability.json`` from the knowledge folder (without one,
    the gate uses the default model), so the fitted model gets its own copy and the
    default runs keep theirs.
    """
    if fitted.exists():
        shutil.rmtree(fitted)
    shutil.copytree(kb, fitted)
    (fitted / "answerability.json").unlink(missing_ok=True)


# --- the summary --------------------------------------------------------------------


def _row(run: str, system: str, s: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": run,
        "system": system,
        "recall_at_1": s["recall_at_1"],
        "recall_at_3": s["recall_at_3"],
        "correct": s["correct"],
        "correct_at": s["correct_at"],
        "mean_cosine": s["mean_cosine"],
        "rouge_l": s["rouge_l"],
        "unanswerable_declined": s["unanswerable_declined"],
        "answerable_declined": s["answerable_declined"],
        "unsupported_rate": s["unsupported_rate"],
        "unsupported_answers": s["unsupported_answers"],
        "answers_sent": s["answers_sent"],
        "unsupported_rate_raw": s["unsupported_rate_raw"],
        "p50_ms": s["latency"]["p50_ms"],
        "p95_ms": s["latency"]["p95_ms"],
        "sent": s["sent"],
        "failed_checks": s["failed_checks"],
    }


def summarise(
    steps: Sequence[Step], bitext: BitextSet, seconds: dict[str, float], args: argparse.Namespace
) -> dict[str, Any]:
    """Collect every evaluation's figures, the set's sizes and the fitted model.

    Args:
        steps: The commands that ran.
        bitext: The set they ran on.
        seconds: Wall time per step.
        args: The script's arguments.

    Returns:
        The summary.
    """
    runs: dict[str, Any] = {}
    rows = []
    for step in steps:
        if step.answers is None:
            continue
        report = json.loads((step.answers / "answers.json").read_text(encoding="utf-8"))
        runs[step.name] = {
            key: report[key]
            for key in ("split", "limit", "questions", "answerable", "unanswerable", "machine")
        }
        runs[step.name]["reference_null"] = report["reference_null"]
        for name, system in report["systems"].items():
            if system["status"] == "ran":
                rows.append(_row(step.name, name, system))
    fitted = args.out / "kb-fitted" / "answerability.json"
    halves = {
        half: {
            "answerable": sum(q["answerable"] for q in bitext.questions if q["split"] == half),
            "unanswerable": sum(
                not q["answerable"] for q in bitext.questions if q["split"] == half
            ),
        }
        for half in ("dev", "test")
    }
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "data": str(args.data),
        "seed": args.seed,
        "sizes": SetSizes(
            args.held_out_intents,
            args.knowledge_per_intent,
            args.questions_per_intent,
            args.unanswerable_per_intent,
        ).__dict__,
        "held_out_intents": list(bitext.held_out),
        "articles": len(bitext.articles),
        "knowledge_rows": len(bitext.knowledge_rows),
        "halves": halves,
        "answerability_fitted": json.loads(fitted.read_text("utf-8")) if fitted.is_file() else None,
        "answerability_cv": _fit_report(fitted),
        "load_average_at_end": list(load) if load else None,
        "seconds": seconds,
        "runs": runs,
        "rows": rows,
    }


def _fit_report(fitted: Path) -> Any:
    report = fitted.with_suffix(".report.json")
    return json.loads(report.read_text("utf-8")) if report.is_file() else None


def markdown_summary(summary: dict[str, Any]) -> str:
    """Render the summary as Markdown tables.

    Args:
        summary: What :func:`summarise` returned.

    Returns:
        The Markdown text.
    """
    halves = summary["halves"]
    lines = [
        f"Bitext knowledge answers, {summary['date']}, seed {summary['seed']}: "
        f"{summary['articles']} articles from {summary['knowledge_rows']} rows; held-out "
        f"(unanswerable) intents {', '.join(summary['held_out_intents'])}; dev "
        f"{halves['dev']['answerable']} + {halves['dev']['unanswerable']} unanswerable, test "
        f"{halves['test']['answerable']} + {halves['test']['unanswerable']} unanswerable.",
        "",
        "| run | system | questions | recall@1 | recall@3 | correct (cos ≥ 0.6) | ROUGE-L | "
        "unanswerable declined | answerable declined | unsupported (sent) | p50 ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary["rows"]:
        run = summary["runs"][r["run"]]
        lines.append(
            f"| {r['run']} | {r['system']} | {run['questions']} | {pct(r['recall_at_1'])} | "
            f"{pct(r['recall_at_3'])} | {pct(r['correct'])} | {r['rouge_l']:.1f} | "
            f"{pct(r['unanswerable_declined'])} | {pct(r['answerable_declined'])} | "
            f"{pct(r['unsupported_rate'])} ({r['unsupported_answers']}/{r['answers_sent']}) | "
            f"{ms_cell(r['p50_ms'])} | {ms_cell(r['p95_ms'])} |"
        )
    lines += ["", "| run | system | correct at 0.5 / 0.6 / 0.7 | sent | failed checks |"]
    lines += ["|---|---|---|---|---|"]
    for r in summary["rows"]:
        at = " / ".join(pct(v) for v in r["correct_at"].values())
        sent = ", ".join(f"{k} {v}" for k, v in r["sent"].items())
        failed = ", ".join(f"{k} {v}" for k, v in r["failed_checks"].items()) or "-"
        lines.append(f"| {r['run']} | {r['system']} | {at} | {sent} | {failed} |")
    lines += ["", "Threshold check (reference answers of different questions):", ""]
    for name, run in summary["runs"].items():
        null = run["reference_null"]
        same, other = null["same_article_p95"], null["other_article_p99"]
        lines.append(
            f"- {name}: same article p95 {'-' if same is None else f'{same:.3f}'} "
            f"({null['same_article_pairs']} pairs), other articles p99 "
            f"{'-' if other is None else f'{other:.3f}'} ({null['other_article_pairs']} pairs)"
        )
    fitted, cv = summary["answerability_fitted"], summary["answerability_cv"]
    if fitted:
        lines += ["", f"Answerability fitted on the Bitext dev half: {json.dumps(fitted)}"]
    if cv:
        lines.append(f"10-fold cross-validated: {json.dumps(cv)}")
    first = next(iter(summary["runs"].values()), None)
    if first:
        lines += ["", f"Machine: {first['machine']}; load average at the end: "]
        lines[-1] += str(summary["load_average_at_end"])
    return "\n".join(lines) + "\n"


# --- the command line -----------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="bitext_support_qa.csv")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder (outside git)")
    parser.add_argument("--seed", type=int, default=0, help="seeds every draw")
    parser.add_argument(
        "--limit", type=int, default=40, help="questions per half for (a) against (b)"
    )
    parser.add_argument("--skip-base", action="store_true", help="leave the base model out")
    parser.add_argument("--held-out-intents", type=int, default=SetSizes.held_out_intents)
    parser.add_argument(
        "--knowledge-per-intent",
        type=int,
        default=SetSizes.knowledge_per_intent,
        help="knowledge rows per answerable intent (0: every row not asked)",
    )
    parser.add_argument("--questions-per-intent", type=int, default=SetSizes.questions_per_intent)
    parser.add_argument(
        "--unanswerable-per-intent", type=int, default=SetSizes.unanswerable_per_intent
    )
    parser.add_argument(
        "--build-only", action="store_true", help="write the knowledge and questions, run nothing"
    )
    args = parser.parse_args(argv)
    sizes = (
        args.held_out_intents,
        args.questions_per_intent,
        args.unanswerable_per_intent,
        args.limit,
    )
    if min(sizes) < 1 or args.knowledge_per_intent < 0:
        parser.error("sizes and --limit must be at least 1 (--knowledge-per-intent 0: all)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the set, run the commands, write the summary.

    Returns:
        0 on success, 2 for a missing or malformed data set, 1 when a step fails.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    try:
        rows = read_bitext(args.data)
        sizes = SetSizes(
            args.held_out_intents,
            args.knowledge_per_intent,
            args.questions_per_intent,
            args.unanswerable_per_intent,
        )
        bitext = build_bitext_set(rows, args.seed, sizes)
    except DatasetError as e:
        logger.error("%s", e.message)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    write_bitext_set(bitext, args.out / "knowledge", args.out / "questions.jsonl")
    logger.info(
        "%d articles from %d rows; %d questions (held-out intents: %s) in %s",
        len(bitext.articles),
        len(bitext.knowledge_rows),
        len(bitext.questions),
        ", ".join(bitext.held_out),
        args.out,
    )
    if args.build_only:
        return 0
    steps = plan(args.out, args.limit, args.skip_base)
    log = args.out / "commands.log"
    log.write_text("", encoding="utf-8")
    seconds: dict[str, float] = {}
    try:
        for step in steps:
            if step.name == "fit":
                copy_kb(args.out / "kb", args.out / "kb-fitted")
            seconds[step.name] = run_step(step, log)
    except StepFailed as e:
        logger.error("%s", e.message)
        return 1
    summary = summarise(steps, bitext, seconds, args)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    text = markdown_summary(summary)
    (args.out / "summary.md").write_text(text, encoding="utf-8")
    logger.info("Summary written to %s\n%s", args.out / "summary.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
