"""Each escalation trigger through the real EscalationPolicy on real Rasa trackers."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    UserUttered,
)
from rasa.shared.nlu.training_data.message import Message

from bot.escalation.policy import EscalationPolicy
from tests.bot.escalation.conftest import make_policy, predicted, trigger_slot
from tests.support.trackers import bot, tracker, user

ESCALATE = "action_escalate"


def test_normal_conversation_never_escalates(policy: EscalationPolicy, domain: Domain) -> None:
    turns = [
        user("hi there", "greet"),
        bot("utter_greet", "Hi, welcome to Pinecrest Outfitters."),
        user("where is my order PC-482913?", "order_status"),
        bot("action_check_order_status", "Your order PC-482913 has shipped."),
        user("great, thanks a lot for your help!", "thank_you"),
    ]
    for n in range(1, len(turns) + 1):
        assert predicted(policy, tracker(domain, *turns[:n]), domain) is None


def test_explicit_request_intent(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(domain, user("can I talk to a person", "request_human"))
    assert predicted(policy, t, domain) == ESCALATE
    assert trigger_slot(policy, t, domain) == "asked_for_human"


def test_button_payload_request_human(policy: EscalationPolicy, domain: Domain) -> None:
    handler = RegexMessageHandler()
    message = Message(data={"text": "/request_human"})
    [parsed] = handler.process([message], domain)
    event = UserUttered(
        "/request_human", intent=parsed.get("intent"), entities=parsed.get("entities")
    )
    t = tracker(domain, user("hello", "greet"), bot("utter_greet", "Hi!"), [event])
    assert predicted(policy, t, domain) == ESCALATE
    assert trigger_slot(policy, t, domain) == "asked_for_human"


def test_two_low_confidence_messages_in_a_row(policy: EscalationPolicy, domain: Domain) -> None:
    first = user("blorp the flanges", "nlu_fallback", 0.5)
    one = tracker(domain, first)
    assert predicted(policy, one, domain) is None

    two = tracker(
        domain,
        first,
        bot("utter_default", "Sorry, I didn't quite get that."),
        user("can you do my taxes", "out_of_scope", 0.9),
    )
    assert predicted(policy, two, domain) == ESCALATE
    assert trigger_slot(policy, two, domain) == "low_confidence"


def test_low_confidence_needs_them_in_a_row(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(
        domain,
        user("blorp", "nlu_fallback", 0.4),
        bot("utter_ask_rephrase", "Could you rephrase that?"),
        user("where is my order", "order_status", 0.97),
        bot("utter_ask_order_number", "What's your order number?"),
        user("zzzz qqq", "shipping_options", 0.31),  # below confidence_below (0.5)
    )
    assert predicted(policy, t, domain) is None


def test_low_top_confidence_counts_as_not_understood(
    policy: EscalationPolicy, domain: Domain
) -> None:
    t = tracker(
        domain,
        user("mmm", "product_question", 0.2),
        bot("utter_product_question", "Which product?"),
        user("the thing", "product_availability", 0.3),
    )
    assert predicted(policy, t, domain) == ESCALATE
    assert trigger_slot(policy, t, domain) == "low_confidence"


def test_negative_sentiment(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(
        domain,
        user(
            "This is absolutely ridiculous, my boots fell apart after a week and nobody answers",
            "damaged_item",
        ),
    )
    assert predicted(policy, t, domain) == ESCALATE
    assert trigger_slot(policy, t, domain) == "negative_sentiment"


def test_polite_complaint_is_not_escalated_for_sentiment(
    policy: EscalationPolicy, domain: Domain
) -> None:
    t = tracker(
        domain,
        user("Hi, my parcel is a few days late, could you check on it please?", "shipping_delay"),
    )
    assert predicted(policy, t, domain) is None


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("If this isn't sorted I'm going to sue you", "legal_threat"),
        ("I'll be talking to my lawyer about this order", "legal_threat"),
        ("There are charges on my card I never made, someone used my card", "fraud"),
        ("I didn't place this order, is this fraud?", "fraud"),
        ("My husband passed away, I need to cancel his order", "bereavement"),
        ("The stove caught fire and my son was injured", "safety"),
    ],
)
def test_each_sensitive_topic(
    policy: EscalationPolicy, domain: Domain, text: str, topic: str
) -> None:
    t = tracker(domain, user(text, "cancel_order"))
    assert predicted(policy, t, domain) == ESCALATE
    slot = trigger_slot(policy, t, domain)
    assert slot is not None
    # A sentiment trigger of equal priority may lead; the topic must be the lead when it
    # outranks it, which the project config does for legal, fraud and safety (2 > 1).
    fired = policy.evaluator.evaluate([e.as_dict() for e in t.applied_events()])
    assert f"sensitive_topic:{topic}" in [f.key for f in fired]
    if topic != "bereavement":
        assert slot == f"sensitive_topic:{topic}"


def test_sensitive_keyword_needs_whole_word(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(domain, user("Can I pursue a return for the suede boots?", "return_item"))
    assert predicted(policy, t, domain) is None


def test_failed_generation_guard(policy: EscalationPolicy, domain: Domain) -> None:
    failed = {"generation": {"guard_failures": ["unsupported_claim"], "generated": False}}
    passed = {"generation": {"guard_failures": [], "generated": True}}
    ok = tracker(
        domain,
        user("do your tents have a warranty", "warranty_claim"),
        bot("action_generate_reply", "Yes, two years.", passed),
        user("ok and how do I claim", "warranty_claim"),
    )
    assert predicted(policy, ok, domain) is None
    bad = tracker(
        domain,
        user("do your tents have a warranty", "warranty_claim"),
        bot("action_generate_reply", "Let me check that.", failed),
        user("ok and how do I claim", "warranty_claim"),
    )
    assert predicted(policy, bad, domain) == ESCALATE
    assert trigger_slot(policy, bad, domain) == "generation_guard_failed"


def test_generator_unavailable_is_not_a_guard_failure(
    policy: EscalationPolicy, domain: Domain
) -> None:
    unavailable = {"generation": {"guard_failures": ["unavailable"], "generated": False}}
    t = tracker(
        domain,
        user("is the trail tent good in snow", "product_question"),
        bot("utter_product_question", "Our tents are rated for...", unavailable),
        user("and in wind?", "product_question"),
    )
    assert predicted(policy, t, domain) is None
    timeout = {"generation": {"guard_failures": ["timeout"], "generated": False}}
    t = tracker(
        domain,
        user("is the trail tent good in snow", "product_question"),
        bot("utter_product_question", "Sorry, I can't answer that right now.", timeout),
        user("and in wind?", "product_question"),
    )
    assert predicted(policy, t, domain) == ESCALATE


def test_knowledge_gap_hands_over_after_the_second_dont_know(
    policy: EscalationPolicy, domain: Domain
) -> None:
    dont_know = {"knowledge": {"outcome": "dont_know", "sources": [], "failed": ["sources"]}}
    answered = {"knowledge": {"outcome": "extract", "sources": [], "failed": []}}
    once = tracker(
        domain,
        user("do you sell kayaks", "product_question"),
        bot("utter_product_question", "Sorry, I don't know.", dont_know),
        user("what about paddles", "product_question"),
    )
    # The first "I don't know" only offers a person (its button).
    assert predicted(policy, once, domain) is None
    answered_between = tracker(
        domain,
        user("do you sell kayaks", "product_question"),
        bot("utter_product_question", "Sorry, I don't know.", dont_know),
        user("how do I wash my down jacket", "product_question"),
        bot("utter_product_question", "From our help centre: ...", answered),
        user("ok thanks", "thank_you"),
    )
    assert predicted(policy, answered_between, domain) is None
    twice = tracker(
        domain,
        user("do you sell kayaks", "product_question"),
        bot("utter_product_question", "Sorry, I don't know.", dont_know),
        user("what about paddles", "product_question"),
        bot("utter_product_question", "Sorry, I don't know.", dont_know),
        user("and canoes?", "product_question"),
    )
    assert predicted(policy, twice, domain) == ESCALATE
    assert trigger_slot(policy, twice, domain) == "knowledge_gap"


def test_open_questions_answered_from_knowledge_are_not_low_confidence(
    policy: EscalationPolicy, domain: Domain
) -> None:
    answered = {"knowledge": {"outcome": "answer", "sources": [], "failed": []}}
    t = tracker(
        domain,
        user("can I machine wash down", "nlu_fallback", 0.3),
        bot("utter_knowledge_answer", "Yes, on a gentle cycle.", answered),
        user("and dry it how", "nlu_fallback", 0.3),
    )
    assert predicted(policy, t, domain) is None
    # An honest "I don't know" is the knowledge_gap trigger's to count, not this one's.
    declined = {"knowledge": {"outcome": "dont_know", "sources": [], "failed": ["sources"]}}
    once = tracker(
        domain,
        user("do you rent kayaks", "nlu_fallback", 0.3),
        bot("utter_knowledge_answer", "Sorry, I don't know.", declined),
        user("canoes then", "nlu_fallback", 0.3),
    )
    assert predicted(policy, once, domain) is None
    unanswered = tracker(
        domain,
        user("can I machine wash down", "nlu_fallback", 0.3),
        bot("utter_default", "Sorry, I didn't get that."),
        user("and dry it how", "nlu_fallback", 0.3),
    )
    assert predicted(policy, unanswered, domain) == ESCALATE


def test_repeated_fallback(policy: EscalationPolicy, domain: Domain) -> None:
    once = tracker(
        domain,
        user("I need help with the thing from before", "order_status", 0.8),
        bot("action_default_fallback", "Sorry, I didn't quite get that."),
        user("the order", "order_status", 0.9),
    )
    assert predicted(policy, once, domain) is None
    twice = tracker(
        domain,
        user("I need help with the thing from before", "order_status", 0.8),
        bot("action_default_fallback", "Sorry, I didn't quite get that."),
        user("the order", "order_status", 0.9),
        bot("utter_default", "I'm not sure I understood."),
        user("my order from last week", "order_status", 0.9),
    )
    assert predicted(policy, twice, domain) == ESCALATE
    assert trigger_slot(policy, twice, domain) == "repeated_fallback"


def test_no_trigger_while_paused(policy: EscalationPolicy, domain: Domain) -> None:
    paused = tracker(
        domain,
        user("can I talk to a person", "request_human"),
        [ActionExecuted(ESCALATE), ConversationPaused(), ActionExecuted("action_listen")],
        user("hello? I want a human, this is ridiculous!!", "request_human"),
    )
    assert paused.is_paused()
    assert predicted(policy, paused, domain) is None


def test_not_twice_for_the_same_turn(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(domain, user("agent please", "request_human"))
    assert predicted(policy, t, domain) == ESCALATE
    # The escalation failed (queue down: no pause); the policy must not predict it again.
    t.update(ActionExecuted(ESCALATE))
    assert predicted(policy, t, domain) is None


def test_counts_restart_after_resume(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(
        domain,
        user("blorp", "nlu_fallback", 0.4),
        bot("utter_default", "Sorry?"),
        user("flarb", "nlu_fallback", 0.4),
        [ActionExecuted(ESCALATE), ConversationPaused(), ConversationResumed()],
        bot("utter_back_to_bot", "You're back with the assistant."),
        user("wibble", "nlu_fallback", 0.4),
    )
    assert not t.is_paused()
    assert predicted(policy, t, domain) is None


def test_first_message_after_resume_is_judged(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(
        domain,
        user("agent please", "request_human"),
        [ActionExecuted(ESCALATE), ConversationPaused(), ConversationResumed()],
        user("I'm going to sue you", "complaint"),
    )
    assert predicted(policy, t, domain) == ESCALATE
    assert trigger_slot(policy, t, domain) == "sensitive_topic:legal_threat"


def test_external_intent_after_resume_never_escalates(
    policy: EscalationPolicy, domain: Domain
) -> None:
    t = tracker(
        domain,
        user("agent please", "request_human"),
        [ActionExecuted(ESCALATE), ConversationPaused(), ConversationResumed()],
        [UserUttered.create_external("request_human")],
    )
    assert predicted(policy, t, domain) is None


def test_escalation_outranks_rule_policy(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(domain, user("I'm going to take you to court over this", "complaint"))
    mine = policy.predict_action_probabilities(t, domain)
    rule_probs = [0.0] * domain.num_actions
    rule_probs[domain.index_for_action("utter_complaint")] = 1.0
    rule = PolicyPrediction(rule_probs, "RulePolicy", RULE_POLICY_PRIORITY)
    best = DefaultPolicyPredictionEnsemble().combine_predictions([rule, mine], t, domain)
    assert best.policy_name == "EscalationPolicy"
    assert domain.action_names_or_texts[best.max_confidence_index] == ESCALATE
    assert any(getattr(e, "key", None) == "escalation_trigger" for e in best.events)


def test_abstaining_loses_to_rule_policy(policy: EscalationPolicy, domain: Domain) -> None:
    t = tracker(domain, user("where is my order", "order_status"))
    mine = policy.predict_action_probabilities(t, domain)
    rule_probs = [0.0] * domain.num_actions
    rule_probs[domain.index_for_action("utter_ask_order_number")] = 1.0
    rule = PolicyPrediction(rule_probs, "RulePolicy", RULE_POLICY_PRIORITY)
    best = DefaultPolicyPredictionEnsemble().combine_predictions([rule, mine], t, domain)
    assert best.policy_name == "RulePolicy"


def test_disabled_trigger_does_not_fire(tmp_path: Path, domain: Domain) -> None:
    config = tmp_path / "escalation.yml"
    config.write_text("triggers:\n  explicit_request:\n    enabled: false\n", encoding="utf-8")
    policy = make_policy(tmp_path, config_path=str(config))
    t = tracker(domain, user("agent please", "request_human"))
    assert predicted(policy, t, domain) is None


def test_train_persists_and_load_restores(tmp_path: Path, domain: Domain) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("escalation_policy")
    context = ExecutionContext(GraphSchema({}), "m")
    config = {
        **EscalationPolicy.get_default_config(),
        "config_path": str(Path(__file__).resolve().parents[3] / "escalation.yml"),
    }
    trained = EscalationPolicy.create(dict(config), storage, resource, context)
    assert trained.train([], domain) == resource
    loaded = EscalationPolicy.load(dict(config), storage, resource, context)
    assert loaded.priority == RULE_POLICY_PRIORITY + 1
    t = tracker(domain, user("agent please", "request_human"))
    assert predicted(loaded, t, domain) == ESCALATE
