"""Knowledge in: a folder of help-centre files to redacted chunks, vectors and a report.

:func:`build_knowledge_base` reads every file (:mod:`.readers`), skipping and reporting the
ones it cannot use, redacts each document (:mod:`.redact`), cuts it into chunks
(:mod:`.chunking`), writes ``chunks.jsonl``, embeds the chunk texts that are new since the
last run (:mod:`.embed`) and writes the report (:mod:`.report`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from bot.knowledge.chunks import CHUNKS_FILE, Chunk, write_chunks
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError
from common.privacy import Redactor
from training.knowledge.chunking import DEFAULT_CHUNK_CHARS, chunk_document, validate_chunk_chars
from training.knowledge.document import RejectedFile
from training.knowledge.embed import MINILM_MODEL_NAME, embed_chunks
from training.knowledge.files import iter_files
from training.knowledge.readers import read_document
from training.knowledge.redact import KnowledgeRedactor, knowledge_redaction_config
from training.knowledge.report import DocumentEntry, KbReport, RejectedEntry, write_report

logger = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024


class NoDocumentsError(TrainingDataError):
    """The knowledge folder holds no usable document."""


@dataclass(frozen=True)
class KbOptions:
    """What to ingest and how.

    Attributes:
        input: The knowledge folder (or a single file).
        out: The output folder.
        max_file_bytes: Files larger than this are skipped unread.
        chunk_chars: The largest chunk, in characters.
        keep: Strings never redacted (the company's own support email, phone...).
        not_names: Product and brand names the name finder must not take for people.
        redact_names: Whether person names are redacted too (off: see
            :func:`~training.knowledge.redact.knowledge_redaction_config`).
        embed: Whether to compute the chunk vectors.
        progress: Whether to show a progress bar.

    """

    input: Path
    out: Path
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    chunk_chars: int = DEFAULT_CHUNK_CHARS
    keep: tuple[str, ...] = field(default_factory=tuple)
    not_names: tuple[str, ...] = field(default_factory=tuple)
    redact_names: bool = False
    embed: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.max_file_bytes < 1:
            raise ConfigError("the file size limit must be at least 1 byte")
        validate_chunk_chars(self.chunk_chars)


@dataclass(frozen=True)
class KbResult:
    """The outcome of a run.

    Attributes:
        chunks: The chunks written, in document order.
        report: The report (also written to the output folder).

    """

    chunks: list[Chunk]
    report: KbReport


def build_knowledge_base(
    options: KbOptions,
    *,
    redactor: Redactor | None = None,
    embedder: Embedder | None = None,
    model_name: str = MINILM_MODEL_NAME,
) -> KbResult:
    """Ingest a knowledge folder.

    Args:
        options: What to ingest and how.
        redactor: The PII redactor; default: one with :func:`knowledge_redaction_config`.
        embedder: The sentence encoder; default: the packaged MiniLM (loaded only if some
            chunk text is new).
        model_name: Identifies ``embedder`` in ``embeddings.json``.

    Returns:
        The chunks and the report.

    Raises:
        ConfigError: If the input does not exist.
        NoDocumentsError: If no file could be used (nothing is written then).

    """
    started = time.perf_counter()
    root, files = _list_files(options.input, options.out)
    report = KbReport(input=str(options.input), out=str(options.out))
    knowledge_redactor = KnowledgeRedactor(
        redactor
        or Redactor(knowledge_redaction_config(options.not_names, names=options.redact_names)),
        options.keep,
    )
    timings: defaultdict[str, float] = defaultdict(float)
    chunks: list[Chunk] = []
    for path in tqdm(files, desc="kb", unit="file", disable=not options.progress):
        relative = path.relative_to(root).as_posix()
        t0 = time.perf_counter()
        try:
            document = read_document(path, root, options.max_file_bytes)
        except RejectedFile as e:
            logger.warning("skipped %s: %s (%s)", relative, e.reason, e.detail)
            report.rejected.append(RejectedEntry(relative, e.reason, e.detail))
            timings["read"] += time.perf_counter() - t0
            continue
        t1 = time.perf_counter()
        redacted = knowledge_redactor.redact(document)
        t2 = time.perf_counter()
        document_chunks = chunk_document(redacted.document, options.chunk_chars)
        t3 = time.perf_counter()
        timings["read"] += t1 - t0
        timings["redact"] += t2 - t1
        timings["chunk"] += t3 - t2
        chunks += document_chunks
        report.documents.append(
            DocumentEntry(
                document.doc_id,
                document.format,
                len(document_chunks),
                dict(sorted(redacted.redacted.items())),
                dict(sorted(redacted.kept.items())),
            )
        )
    if not chunks:
        reasons = ", ".join(f"{k}: {v}" for k, v in report.rejected_by_reason().items())
        raise NoDocumentsError(
            f"no usable document in {options.input} "
            f"({len(files)} files; rejected {reasons or 'none'})"
        )
    t0 = time.perf_counter()
    report.chunks_written = write_chunks(options.out / CHUNKS_FILE, chunks)
    timings["write"] += time.perf_counter() - t0
    if options.embed:
        t0 = time.perf_counter()
        stats = embed_chunks(chunks, options.out, embedder or _default_embedder(), model_name)
        timings["embed"] = time.perf_counter() - t0
        report.embedded, report.reused = stats.embedded, stats.reused
        report.fresh_reason = stats.fresh_reason
    timings["total"] = time.perf_counter() - started
    report.timings = dict(timings)
    write_report(options.out, report)
    logger.info(
        "%d documents read, %d chunks written, %d files rejected %s",
        len(report.documents),
        report.chunks_written,
        len(report.rejected),
        report.rejected_by_reason(),
    )
    return KbResult(chunks, report)


def _list_files(source: Path, out: Path) -> tuple[Path, list[Path]]:
    if source.is_file():
        return source.parent, [source]
    if not source.is_dir():
        raise ConfigError(f"{source}: no such folder")
    return source, list(iter_files(source, exclude=out))


def _default_embedder() -> Embedder:
    from common.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()
