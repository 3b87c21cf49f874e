"""Build ``pii_dev_v2.jsonl``: development examples of the failure classes of issue 22.

Written by hand for tuning (it is a *development* set; the blind set is written by someone
else, after the detectors are frozen). Every text is invented. Markup and annotation rules
are those of ``make_pii_set.py`` (PERSON without titles; ADDRESS the whole contiguous
address with postcode and city; PHONE with its extension). Texts without markup are decoys:
nothing in them may be redacted.

Run: ``python tests/common/privacy/data/make_pii_dev_v2.py`` (writes next to this file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_pii_set import parse  # noqa: E402

NAMES_LOWER = [
    "hey its [[PERSON:priyanka]] again, still no parcel",
    "cheers [[PERSON:tomasz]] that sorted it",
    "ty [[PERSON:olumide]]!!",
    "thx [[PERSON:benedikt]], all good now",
    "my mum [[PERSON:brenda]] placed the order for me",
    "my husband [[PERSON:gareth]] will pick it up",
    "this is [[PERSON:lucia]] from flat 2, the box never came",
    "hi im [[PERSON:ngozi]] and my card was charged twice",
    "ok thanks [[PERSON:rafael]]",
    "it's [[PERSON:haruto]] here, following up",
]
NAMES_FROM = [
    "[[PERSON:Callum]] from your returns team said I'd get a label",
    "I spoke to [[PERSON:Ines]] from billing yesterday",
    "[[PERSON:Dev]] from support promised a callback",
    "A lady called [[PERSON:Margit]] from customer care rang me",
    "[[PERSON:Yusuf]] at the warehouse confirmed it shipped",
]
NAMES_SPEAKER = [
    "[[PERSON:Oisín]]: has anyone looked at my ticket?",
    "[[PERSON:Thandiwe]]: the app keeps logging me out",
    "[[PERSON:Bartholomew]]: can someone ring me back",
    "[[PERSON:Kofi]] → [[PERSON:Lena]]: can you check the refund?",
    "[10:42] [[PERSON:Marisol]]: still waiting on that replacement",
    "[[PERSON:Amara Okonkwo]]: the invoice is wrong",
]
NAMES_MID = [
    "we ran into [[PERSON:Esperanza]] at the launch event and she said to message you",
    "the courier handed it to [[PERSON:Desmond]] next door",
    "last week [[PERSON:Ingrid]] in your Leeds shop swapped the size for me",
    "Could you ask [[PERSON:Florian Weber]] to call me back?",
    "The parcel was signed by [[PERSON:Aylin]] who doesn't live here",
    "I think [[PERSON:Rohan]] handled my case before",
    "Apparently [[PERSON:Maeve]] already processed the refund.",
]
NAMES_SIGNATURE = [
    "Please cancel the order.\n\nKind regards\n[[PERSON:Wojciech Nowicki]]",
    "Thanks for the help!\n\nBest,\n[[PERSON:Tamsin]]\nMob: [[PHONE:07700 900482]]",
    "That works for me.\n\nCheers\n[[PERSON:Hamish Reid]]\nCell: [[PHONE:(415) 555-0132]]",
    "Ok.\n\nRegards,\n\n[[PERSON:Giulia Conti]]\nSent from my phone",
    "Many thanks\n[[PERSON:Søren]]",
    "Speak soon,\n[[PERSON:Anne-Marie Dubois]]",
    "Thanks again\n-- \n[[PERSON:Keanu Whitford]]\nSenior Buyer",
]
NAMES_HYPHEN = [
    "Hi, [[PERSON:Jean-Luc]] here, my order never arrived",
    "[[PERSON:Mary-Kate Sullivan]] is the account holder",
    "please speak to [[PERSON:Hans-Peter]] about it",
]
ADDRESSES = [
    "ship to [[ADDRESS:17 fenwick rd glasgow g41 3pb]] pls",
    "my address is [[ADDRESS:42 oak lane, bristol bs3 4qt]]",
    "deliver to [[ADDRESS:908 pine street seattle wa 98101]]",
    "its [[ADDRESS:55 w elm ave, chicago il 60610]]",
    "new addr [[ADDRESS:3 harbour row, penzance tr18 4ap]]",
    "Lieferung bitte an [[ADDRESS:Im Winkel 3, 50667 Köln]]",
    "Adresse: [[ADDRESS:An der Alster 21, 20099 Hamburg]]",
    "Bitte an [[ADDRESS:Friedrich-Ebert-Straße 44, 45127 Essen]] schicken",
    "Rechnung an [[ADDRESS:Konrad-Adenauer-Allee 9, 53113 Bonn]]",
    "neue Anschrift: [[ADDRESS:Goethestr. 14, 60313 Frankfurt am Main]]",
    "Please send it to [[ADDRESS:12 Marlow Crescent, Reading RG1 7QX]] asap",
    "Send it to [[ADDRESS:73 Fieldgate Street, Derby DE1 1PH]]",
    "The address is [[ADDRESS:2212 Cedar Avenue, Austin, TX 78704]].",
    "we moved to [[ADDRESS:19 Larch Close, Norwich NR4 6BG]], update it",
    "old one was [[ADDRESS:4 Abbey Road, London NW8 9AY]]",
]
PHONES = [
    "call the office on [[PHONE:0161 496 0321 ext. 4410]]",
    "desk line [[PHONE:020 7946 0958 x 217]]",
    "ring [[PHONE:+44 113 496 0732 extension 55]] and ask for accounts",
    "my number is [[PHONE:98765 43210]]",
    "whatsapp me on [[PHONE:9820012345]]",
    "mobile: [[PHONE:+91 98200 12345]]",
    "call [[PHONE:(212) 555-0187 ext 3]] during office hours",
]
ORDERS = [
    "order [[ORDER_ID:PC 448721]] still not here",
    "ref [[ORDER_ID:PC557310]] please",
    "My order number is [[ORDER_ID:pc 662104]].",
    "both [[ORDER_ID:PC-771205]] and [[ORDER_ID:PC 771206]] were late",
    "account [[ACCOUNT_ID:ACC 4410923]] is locked",
]
DECOYS = [
    "Tracking says it was delivered but it wasn't",
    "Google says you open at 9",
    "Amazon says the seller is you",
    "I'm Canadian so the duties confused me",
    "I'm Scottish and the sizes are odd",
    "we shipped from Austin to Glasgow last time",
    "is the Copenhagen store open on Sunday?",
    "Royal Mail lost it again",
    "the school trust ordered 40 jackets",
    "Sehr geehrte Damen und Herren, wo ist meine Bestellung?",
    "Indirizzo sbagliato, per favore correggete",
    "the X Ultra model keeps overheating",
    "Is the Trail Runner Pro waterproof?",
    "serial number SN 4418-2290-771 on the back",
    "serial: 7741 2290 5531 88",
    "I flew American Airlines and they lost my bag",
    "booked with Delta Air Lines and United last year",
    "Mob:",
    "Cell: n/a",
    "Thanks,\nCustomer Services",
    "Netflix says my card is declined",
    "Shipping says 3-5 days",
    "Is this available in Berlin or Munich?",
    "the Boston store told me to ask online",
    "I'm British, do you ship to Ireland?",
    "Bonjour, je voudrais un remboursement",
    "Hola, quiero cambiar la talla",
    "Thanks Google for nothing",
    "The Samsung Galaxy S23 case doesn't fit",
    "Paris Hilton shoes? no, the Paris collection",
    "Microsoft Teams link didn't work",
    "Spotify and Apple Music both fail",
]


def marked_texts() -> list[str]:
    """Return every development text, marked up."""
    return (
        NAMES_LOWER
        + NAMES_FROM
        + NAMES_SPEAKER
        + NAMES_MID
        + NAMES_SIGNATURE
        + NAMES_HYPHEN
        + ADDRESSES
        + PHONES
        + ORDERS
        + DECOYS
    )


def main() -> None:
    """Write ``pii_dev_v2.jsonl`` next to this file."""
    target = Path(__file__).resolve().parent / "pii_dev_v2.jsonl"
    records = [parse(t) for t in marked_texts()]
    with target.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    sys.stdout.write(f"{len(records)} texts -> {target}\n")


if __name__ == "__main__":
    main()
