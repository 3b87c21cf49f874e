"""Response generation: a fine-tuned SmolLM2 that answers in the company's voice.

The parts, one job each: :mod:`.model` (load the base model), :mod:`.pairs` (training
pairs), :mod:`.prompt` (ChatML prompts), :mod:`.grounding` (past agent replies, top-k),
:mod:`.fine_tune` (LoRA or full fine-tuning), :mod:`.decoding` (fast CPU decoding),
:mod:`.guardrails` (checks on generated text), :mod:`.generator` (the facade) and
:mod:`.registry` (the process-wide hand-over from the Rasa component to the NLG endpoint).
"""
