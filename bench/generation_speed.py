"""Benchmark: the generator's CPU decoder against plain fp32 ``model.generate``.

Runs, in one process and on the same prompts (built like the generator's: system prompt,
grounding reply, customer message from the sample pairs):

* ``generate fp32``: ``LlamaForCausalLM.generate``, greedy, KV cache on (the default);
* ``loop fp32`` / ``loop int8``: :class:`bot.nlg.generation.decoding.FastDecoder` over HF's
  forward (``lean=False``), without and with int8 dynamic quantisation;
* ``lean fp32`` / ``lean int8``: the decoder over :class:`~bot.nlg.generation.fast_llama.
  LeanLlama` (fused projections, static KV cache); ``lean int8`` is what the bot runs.

``--check-parity`` also asserts that ``lean int8`` picks the same tokens as ``loop int8``
on every prompt (they share the int8 weights).

Each run decodes exactly ``--new-tokens`` tokens (end tokens are ignored) so that the three
do the same work. ms/token counts the whole call (prompt included) divided by the tokens.
The result goes to ``bench/results/generation_speed.json``; a Markdown table to stdout.

    .venv/bin/python bench/generation_speed.py --prompts 8 --new-tokens 48 --check-parity

Threads default to the NLG endpoint's rule (cores minus one: 1 on a 2-core machine); on a
shared 2-core machine two threads that wait for each other at every op collapse.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlg.generation.decoding import DecodeConfig, FastDecoder  # noqa: E402
from bot.nlg.generation.model import load_base, load_tokenizer  # noqa: E402
from bot.nlg.generation.pairs import read_pairs  # noqa: E402
from bot.nlg.generation.prompt import PromptParts, build_ids  # noqa: E402


def _prompts(count: int, tokenizer: object, max_tokens: int) -> list[list[int]]:
    pairs = read_pairs(ROOT / "data" / "generation" / "pairs.jsonl")[: count + 1]
    return [
        build_ids(
            PromptParts(
                pair.context,
                pair.customer,
                ((pairs[i + 1].customer, pairs[i + 1].agent),),
                pair.channel,
            ),
            tokenizer,  # type: ignore[arg-type]
            max_tokens,
        )
        for i, pair in enumerate(pairs[:count])
    ]


def _measure(run: Callable[[list[int]], int], prompts: list[list[int]]) -> dict[str, float]:
    run(prompts[0])  # warm-up
    per_token = []
    tokens = 0
    start = time.perf_counter()
    for prompt in prompts:
        t0 = time.perf_counter()
        n = run(prompt)
        per_token.append((time.perf_counter() - t0) * 1000 / max(n, 1))
        tokens += n
    elapsed = time.perf_counter() - start
    return {
        "ms_per_token_p50": round(statistics.median(per_token), 2),
        "ms_per_token_p90": round(sorted(per_token)[int(0.9 * (len(per_token) - 1))], 2),
        "tokens_per_s": round(tokens / elapsed, 2),
        "tokens": tokens,
    }


def _runner(decoder: FastDecoder, config: DecodeConfig) -> Callable[[list[int]], int]:
    def run(prompt: list[int]) -> int:
        return len(decoder.decode(prompt, config).token_ids)

    return run


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2", choices=["smollm2", "tiny-random"])
    parser.add_argument(
        "--threads",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="torch threads (default: cores minus one, as the NLG endpoint runs)",
    )
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--max-prompt-tokens", type=int, default=192)
    parser.add_argument(
        "--rows",
        default="generate fp32,loop fp32,loop int8,lean fp32,lean int8",
        help="comma-separated rows to run (the first is the speed-up baseline)",
    )
    parser.add_argument("--check-parity", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "generation_speed.json"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer()
    model = load_base(args.model, tokenizer)
    prompts = _prompts(args.prompts, tokenizer, args.max_prompt_tokens)
    new = args.new_tokens

    def hf_generate(prompt: list[int]) -> int:
        with torch.inference_mode():
            out = model.generate(
                torch.tensor([prompt]),
                max_new_tokens=new,
                min_new_tokens=new,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        assert isinstance(out, torch.Tensor)
        return int(out.shape[1] - len(prompt))

    config = DecodeConfig(max_new_tokens=new, repetition_penalty=1.0, stop_at_end=False)
    decoders = {
        f"{kind} {precision}": (kind, precision == "int8")
        for kind in ("loop", "lean")
        for precision in ("fp32", "int8")
    }
    runs: dict[str, Callable[[list[int]], int]] = {"generate fp32": hf_generate}
    built: dict[str, FastDecoder] = {}
    for name in args.rows.split(","):
        if name in decoders:
            kind, int8 = decoders[name]
            built[name] = FastDecoder(model, tokenizer, quantize_int8=int8, lean=kind == "lean")
            runs[name] = _runner(built[name], config)
    rows = [name for name in args.rows.split(",") if name in runs]
    results = {name: _measure(runs[name], prompts) for name in rows}
    base = results[rows[0]]["ms_per_token_p50"]
    for row in results.values():
        row["speedup_vs_generate"] = round(base / row["ms_per_token_p50"], 2)
    parity = None
    if args.check_parity and {"loop int8", "lean int8"} <= built.keys():
        parity = all(
            built["loop int8"].decode(p, config).token_ids
            == built["lean int8"].decode(p, config).token_ids
            for p in prompts
        )
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
    }
    report = {
        "model": args.model,
        "prompts": len(prompts),
        "mean_prompt_tokens": round(statistics.mean(len(p) for p in prompts), 1),
        "new_tokens": new,
        "machine": machine,
        "results": results,
        "lean_int8_matches_loop_int8": parity,
        "note": "Shared machine: other processes were running; numbers are noisy.",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"Generation speed: {args.model}, {len(prompts)} prompts "
        f"(~{report['mean_prompt_tokens']} tokens), {new} new tokens, "
        f"{machine['torch_threads']} threads, load average {machine['load_average']}",
        "",
        "| decoder | ms/token p50 | ms/token p90 | tokens/s | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['ms_per_token_p50']} | {row['ms_per_token_p90']} | "
            f"{row['tokens_per_s']} | {row['speedup_vs_generate']}x |"
        )
    if parity is not None:
        lines.append(f"\nlean int8 tokens == loop int8 tokens on every prompt: {parity}")
    sys.stdout.write("\n".join(lines) + "\n")
    if parity is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
