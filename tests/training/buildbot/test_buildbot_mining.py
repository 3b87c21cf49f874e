"""Reply choice, cohesion and routing on hand-made conversations (fake encoder)."""

from __future__ import annotations

import pytest

from common.privacy.detectors import PLACEHOLDER_RE
from tests.training.prepare.conftest import BagOfWordsEmbedder
from training.buildbot.flows import Exchange, Flow
from training.buildbot.mining import (
    GENERATION,
    HANDOFF,
    KNOWLEDGE,
    PAST_REPLY,
    RESPONSE,
    SLOT_REQUEST,
    MiningConfig,
    choose_reply,
    estimate_replies,
    mine_questions,
    plan_intent,
    template_question,
)

RETURNS = "Returns are free within 30 days of delivery for unused items with tags."


def _flows(*exchanges: tuple[tuple[str, str], ...]) -> list[Flow]:
    return [
        Flow(
            f"c{i}",
            None,
            tuple(Exchange(c, a, "x" if j == 0 else None) for j, (c, a) in enumerate(ex)),
        )
        for i, ex in enumerate(exchanges)
    ]


def _plan(flows: list[Flow], knowledge: bool = False, questions=None):
    return plan_intent(
        "x",
        flows,
        BagOfWordsEmbedder(),
        MiningConfig(),
        questions=questions or {},
        knowledge=knowledge,
    )


def test_the_medoid_of_the_largest_cluster_is_the_response_and_cohesion_is_its_share():
    replies = [RETURNS, RETURNS + " Thanks!", RETURNS, "Our shop opens at nine on weekdays."]
    choice = choose_reply(replies, BagOfWordsEmbedder(), MiningConfig())
    assert choice.text == RETURNS
    assert choice.support == 3 and choice.total == 4
    assert choice.cohesion == 0.75
    assert choice.variants == (RETURNS + " Thanks!",)
    assert choice.clusters == 2


def test_a_cohesive_intent_gets_a_response():
    plan = _plan(_flows(*[(("how do returns work", RETURNS),)] * 4))
    assert plan.route == RESPONSE
    assert plan.response is not None and plan.response.text == RETURNS
    assert "4 of 4 replies agree" in plan.reason


def test_disagreeing_replies_go_to_past_replies_or_to_knowledge_with_a_kb():
    replies = [
        "The Ridge tent has taped seams.",
        "Pick a sleeping bag rated below the coldest night.",
        "Boots run true to size.",
        "A canister stove works best up high.",
    ]
    flows = _flows(*[(("question", r),) for r in replies])
    plan = _plan(flows)
    assert plan.route == PAST_REPLY
    assert plan.reason.startswith("low cohesion: 1 of 4 replies agree")
    assert _plan(flows, knowledge=True).route == KNOWLEDGE


def test_placeholders_never_reach_the_response():
    unfillable = "Hello [PERSON_1], we are open {{Customer Support Hours}}."
    plan = _plan(_flows(*[(("when are you open", unfillable),)] * 3))
    assert plan.route == GENERATION
    assert "placeholder" in plan.reason
    assert plan.response is not None and plan.response.text is None
    assert plan.response.refused == 3


def test_a_reply_that_needs_the_order_number_becomes_a_slot_request():
    reply = "Order [ORDER_ID_1] has shipped and arrives within three business days."
    plan = _plan(_flows(*[(("where is my parcel", reply),)] * 3))
    assert plan.route == SLOT_REQUEST
    assert plan.slot == "order_number"
    assert plan.question == template_question("order_number")
    assert plan.response is not None
    assert (
        plan.response.text
        == "Order {order_number} has shipped and arrives within three business days."
    )
    assert not PLACEHOLDER_RE.search(plan.response.text)


def test_agents_asking_first_make_a_slot_request_with_their_question_and_next_reply():
    ask = "Sure, what's your order number?"
    after = "Thanks, order [ORDER_ID_1] has shipped."
    flows = _flows(*[(("where is my order", ask), ("it's [ORDER_ID_1]", after))] * 3)
    questions = mine_questions(flows, BagOfWordsEmbedder(), MiningConfig())
    assert questions == {"order_number": ask}
    plan = _plan(flows, questions=questions)
    assert plan.route == SLOT_REQUEST
    assert plan.question == ask
    assert plan.after_slot == RESPONSE
    assert (
        plan.response is not None
        and plan.response.text == "Thanks, order {order_number} has shipped."
    )


def test_slot_request_whose_replies_after_the_question_disagree_gets_past_replies():
    ask = "Could you give me your order number?"
    afters = ["It shipped today.", "We refunded it yesterday.", "The courier lost it, sorry."]
    flows = _flows(*[(("order question", ask), ("[ORDER_ID_1]", a)) for a in afters])
    plan = _plan(flows)
    assert plan.route == SLOT_REQUEST
    assert plan.after_slot == PAST_REPLY
    assert _plan(flows, knowledge=True).after_slot == KNOWLEDGE


def test_intents_agents_hand_over_go_to_the_handoff():
    replies = ["I'm transferring you to a colleague.", "Let me escalate this.", RETURNS]
    plan = _plan(_flows(*[(("I will sue you", r),) for r in replies]))
    assert plan.route == HANDOFF
    assert plan.reason.startswith("agents handed 2 of 3 conversations over")


BOOTS = "Boots can be returned within 30 days if unworn and in their original box."
JACKETS = "Jackets can be returned within 30 days if unworn and with their tags on."


WORDS = "amber birch cedar delta ember fjord grove heron inlet juniper".split()


def _two_topics(per_topic: int) -> list[Flow]:
    # Each customer adds a word of their own, so that only the item ties two questions.
    boots = [((f"can I return my boots {w}", BOOTS),) for w in WORDS[:per_topic]]
    jackets = [((f"can I return my jacket {w}s", JACKETS),) for w in WORDS[:per_topic]]
    return _flows(*boots, *jackets)


def test_a_cohesive_intent_whose_reply_follows_the_question_goes_to_past_replies():
    flows = _two_topics(10)
    choice = choose_reply([f.opener.agent for f in flows], BagOfWordsEmbedder(), MiningConfig())
    assert choice.cohesion == 1.0  # one cluster: the cohesion rule alone would fix a response
    estimate = estimate_replies(flows, choice.text or "", BagOfWordsEmbedder(), MiningConfig())
    assert estimate is not None and estimate.conversations == 20
    assert estimate.past_reply == pytest.approx(1.0)  # the nearest asked about the same item
    assert estimate.response < 0.95
    plan = _plan(flows)
    assert plan.route == PAST_REPLY
    assert "leave-one-out cosine 1.00 against" in plan.reason
    # With a knowledge base, or with the estimate turned off, the response stays.
    assert _plan(flows, knowledge=True).route == RESPONSE
    off = plan_intent(
        "x",
        flows,
        BagOfWordsEmbedder(),
        MiningConfig(past_reply_margin=None),
        questions={},
        knowledge=False,
    )
    assert off.route == RESPONSE


def test_a_chance_difference_on_few_conversations_keeps_the_response():
    # Two conversations per topic: past replies still win on average, but not by two
    # standard errors of the paired difference.
    flows = _two_topics(2) + _flows((("can I return my tent", BOOTS),))
    estimate = estimate_replies(flows, BOOTS, BagOfWordsEmbedder(), MiningConfig())
    assert estimate is not None
    assert not estimate.past_reply_wins(MiningConfig().past_reply_margin or 0.0)
    assert _plan(flows).route == RESPONSE


def test_no_estimate_without_two_sendable_replies():
    flows = _flows((("where is my order", "Hi [PERSON_1], it left today."),), (("hi", RETURNS),))
    assert estimate_replies(flows, RETURNS, BagOfWordsEmbedder(), MiningConfig()) is None
