"""Chain the build: check, prepare, label, mine, render, write behind the manifest."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.nlg.generation.pairs import read_pairs
from common.embeddings import Embedder
from common.errors import TrainingDataError
from common.privacy import Redactor
from training.buildbot.checks import check_intents, check_transcripts
from training.buildbot.flows import (
    Flow,
    conversations_jsonl,
    flows_from_pairs,
    label_openers,
    opener_key,
    pairs_jsonl,
)
from training.buildbot.mining import (
    GENERATION,
    KNOWLEDGE,
    IntentPlan,
    MiningConfig,
    mine_questions,
    plan_intent,
)
from training.buildbot.project import PAIRS, ProjectSpec, render_project
from training.buildbot.report import BuildReport
from training.discover.apply import build_intents, intent_of_cluster
from training.discover.pipeline import MEMBERS_FILE, PROPOSALS_FILE, discover
from training.discover.proposals import load_proposals, read_members, write_members, write_proposals
from training.ingest import IngestOptions
from training.intent_data import load_examples
from training.prepare.manifest import Manifest
from training.prepare.options import PrepareOptions
from training.prepare.pipeline import prepare

logger = logging.getLogger(__name__)

PREPARED = "prepared"
HELDOUT = "heldout"
CONVERSATIONS = "heldout/conversations.jsonl"
REPORT_JSON = "build_report.json"
REPORT_MD = "build_report.md"


@dataclass(frozen=True)
class BuildOptions:
    """One build.

    Attributes:
        input: Transcripts (file or folder, any ingest format).
        out: The project folder.
        name: The bot's name; default: the folder's name.
        format: ``auto`` or an ingest format.
        ingest: Ingest options (CSV columns, support addresses...).
        kb: A help-centre folder for ``python -m training kb`` (knowledge route).
        intents: A reviewed ``intents_proposed.yml`` (unlabelled transcripts).
        accept_proposals: Use discovery's clusters unreviewed.
        drop_conflicts: Leave out texts labelled with two intents instead of stopping.
        drop_thin: Leave out one-example intents instead of stopping.
        near_dedupe: Run prepare's MiniLM near-duplicate pass.
        test_fraction: Share held out (NLU examples and conversations).
        max_per_intent: Cap on each intent's examples.
        mining: Reply-choice and routing thresholds.
        seed: Seeds every random choice.
        force: Overwrite files edited by hand.

    """

    input: Path
    out: Path
    name: str | None = None
    format: str = "auto"
    ingest: IngestOptions = field(default_factory=IngestOptions)
    kb: Path | None = None
    intents: Path | None = None
    accept_proposals: bool = False
    drop_conflicts: bool = False
    drop_thin: bool = False
    near_dedupe: bool = True
    test_fraction: float = 0.1
    max_per_intent: int | None = None
    mining: MiningConfig = field(default_factory=MiningConfig)
    seed: int = 42
    force: bool = False

    @property
    def bot_name(self) -> str:
        """The bot's name."""
        return self.name or self.out.resolve().name


@dataclass(frozen=True)
class BuildResult:
    """The outcome.

    Attributes:
        stopped_for_review: Discovery wrote ``intents_proposed.yml`` and the build stopped.
        plans: The intents' plans (empty when stopped).
        written: Files whose content changed.
        unchanged: Files already identical.

    """

    stopped_for_review: bool
    plans: tuple[IntentPlan, ...]
    written: tuple[str, ...]
    unchanged: tuple[str, ...]


def build_bot(
    options: BuildOptions,
    embedder: Embedder | None = None,
    redactor: Redactor | None = None,
) -> BuildResult:
    """Build the project (or stop after discovery for review).

    Args:
        options: The build.
        embedder: Sentence encoder; default: the packaged MiniLM.
        redactor: PII redactor; default: every type, spaCy names.

    Returns:
        What was done.

    Raises:
        TrainingDataError: Bad input (with its file and record).
        OutputConflictError: A file was edited by hand (and ``force`` is off).

    """
    summary = check_transcripts(
        options.input, options.format, options.ingest, drop_conflicts=options.drop_conflicts
    )
    if embedder is None:
        from training.prepare.dedupe import near_dedupe_embedder

        embedder = near_dedupe_embedder()
    options.out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(options.out)
    prepared = options.out / PREPARED
    prepare(
        PrepareOptions(
            input=options.input,
            out=prepared,
            format=options.format,
            test_out=options.out / HELDOUT,
            ingest=options.ingest,
            near_dedupe=options.near_dedupe,
            max_per_intent=options.max_per_intent,
            test_fraction=options.test_fraction,
            seed=options.seed,
            force=options.force,
        ),
        redactor=redactor,
        embedder=embedder if options.near_dedupe else None,
    )
    train_pairs = read_pairs(prepared / "generation/pairs.jsonl")
    test_pairs = read_pairs(prepared / "generation/pairs_test.jsonl")
    if not train_pairs:
        raise TrainingDataError(
            f"{options.input}: no answered customer message is left after cleaning and the "
            "held-out split; build-bot needs agents' replies to mine"
        )
    examples = _labelled_examples(prepared / "nlu/prepared.yml")
    intent_of: dict[str, str] = {}
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=options.out))
    try:
        if not examples:
            labels = _discovered(options, prepared, embedder, redactor, staging, manifest)
            if labels is None:
                return BuildResult(True, (), *_commit_review(staging, manifest, options.force))
            examples, intent_of = labels
        examples, dropped = check_intents(
            options.intents or options.input, examples, drop_thin=options.drop_thin
        )
        flows = label_openers(flows_from_pairs(train_pairs), intent_of)
        heldout = label_openers(flows_from_pairs(test_pairs), intent_of)
        plans = _plan(examples, flows, embedder, options)
        spec = ProjectSpec(options.bot_name, plans, examples, flows, options.kb is not None)
        files = render_project(spec)
        files[PAIRS] = pairs_jsonl(flows, train_pairs)
        files[CONVERSATIONS] = conversations_jsonl(heldout)
        report = BuildReport(
            name=options.bot_name,
            conversations=summary.conversations,
            without_agent=summary.without_agent,
            conflicts=len(summary.conflicts),
            dropped_intents=dropped,
            heldout_conversations=len(heldout),
            plans=list(plans),
            examples=examples,
            mining=options.mining,
        )
        files[REPORT_JSON] = report.to_json()
        files[REPORT_MD] = report.to_markdown()
        manifest.check(files, options.force)
        staged = {}
        for rel, text in files.items():
            path = staging / rel.replace("/", "__")
            path.write_text(text, encoding="utf-8", newline="\n")
            staged[rel] = path
        result = manifest.commit(staged)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if options.kb is not None:
        _build_knowledge(options.kb, options.out, embedder)
    logger.info(
        "build-bot: %d intents, %d files written, %d unchanged",
        len(plans),
        len(result.written),
        len(result.unchanged),
    )
    return BuildResult(False, tuple(plans), result.written, result.unchanged)


def _labelled_examples(path: Path) -> dict[str, list[str]]:
    if not path.is_file() or path.read_text(encoding="utf-8").rstrip().endswith("nlu: []"):
        return {}
    examples: dict[str, list[str]] = {}
    for example in load_examples(path):
        examples.setdefault(example.label, []).append(example.text)
    return examples


def _discovered(
    options: BuildOptions,
    prepared: Path,
    embedder: Embedder,
    redactor: Redactor | None,
    staging: Path,
    manifest: Manifest,
) -> tuple[dict[str, list[str]], dict[str, str]] | None:
    """Examples and opener -> intent from a reviewed file or accepted proposals.

    Returns None after staging ``intents_proposed.yml`` for review.
    """
    if options.intents is not None:
        proposals = load_proposals(options.intents)
        members = list(read_members(options.intents.parent / proposals.members_file))
    else:
        openers_path = prepared / "unlabelled_openers.jsonl"
        texts = [
            json.loads(line)["text"]
            for line in openers_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        if not texts:
            raise TrainingDataError(
                f"{options.input}: no labelled customer message and no unlabelled opener"
            )
        result = discover(texts, embedder, redactor or Redactor())
        proposals, members = result.proposals, result.members
        if not options.accept_proposals:
            write_members(staging / MEMBERS_FILE, members)
            write_proposals(staging / PROPOSALS_FILE, proposals)
            return None
    examples, _ = build_intents(proposals, members)
    mapping = intent_of_cluster(proposals)
    intent_of = {opener_key(m.text): mapping[m.cluster] for m in members if m.cluster in mapping}
    return examples, intent_of


def _commit_review(
    staging: Path, manifest: Manifest, force: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    staged = {name: staging / name for name in (PROPOSALS_FILE, MEMBERS_FILE)}
    manifest.check(staged, force)
    result = manifest.commit(staged)
    logger.info(
        "review %s (rename, merge or drop clusters), then re-run with --intents %s "
        "(or --accept-proposals for a first look)",
        manifest.out / PROPOSALS_FILE,
        manifest.out / PROPOSALS_FILE,
    )
    return result.written, result.unchanged


def _plan(
    examples: Mapping[str, Sequence[str]],
    flows: Sequence[Flow],
    embedder: Embedder,
    options: BuildOptions,
) -> list[IntentPlan]:
    per_intent: dict[str, list[Flow]] = {}
    for flow in flows:
        for i, exchange in enumerate(flow.exchanges):
            if exchange.intent is not None and exchange.intent in examples:
                per_intent.setdefault(exchange.intent, []).append(
                    replace(flow, exchanges=flow.exchanges[i:])
                )
    questions = mine_questions(flows, embedder, options.mining)
    knowledge = options.kb is not None
    plans = []
    for intent in sorted(examples):
        if intent not in per_intent:
            plans.append(
                IntentPlan(
                    intent,
                    0,
                    KNOWLEDGE if knowledge else GENERATION,
                    "no agent reply to this intent's messages in the training conversations",
                )
            )
            continue
        plans.append(
            plan_intent(
                intent,
                per_intent[intent],
                embedder,
                options.mining,
                questions=questions,
                knowledge=knowledge,
            )
        )
    return plans


def _build_knowledge(kb: Path, out: Path, embedder: Embedder) -> None:
    from training.buildbot.project import KNOWLEDGE_CHUNKS
    from training.knowledge.pipeline import KbOptions, build_knowledge_base

    build_knowledge_base(
        KbOptions(input=kb, out=out / KNOWLEDGE_CHUNKS, progress=False), embedder=embedder
    )
