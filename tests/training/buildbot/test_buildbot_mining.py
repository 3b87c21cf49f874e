"""Reply choice, cohesion and routing on hand-made conversations (fake encoder)."""

from __future__ import annotations

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
