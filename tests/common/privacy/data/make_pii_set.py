"""Build ``pii_set.jsonl``, the annotated PII test set, from marked-up texts.

Every text below is invented (no real people's data). PII is marked inline as
``[[TYPE:value]]``; the script strips the markup, computes exact character offsets and
checks them, so annotations cannot drift from the text. Card numbers and IBANs are
generated deterministically (fixed seed) with valid checksums; decoys break the checksum.

Annotation rules:
- PERSON: the name itself, without titles (Mr, Dr) or a possessive "'s".
- ADDRESS: the whole contiguous postal address (street, unit, postcode, city, state).
- PHONE: the number including a "+", brackets and an extension when written next to it.
- URL: only URLs that carry a secret (token-like query parameter or random path segment).
- Order numbers in the shop's format are ORDER_ID, account numbers ACCOUNT_ID.

Run: ``python tests/common/privacy/data/make_pii_set.py`` (writes next to this file).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

MARK = re.compile(r"\[\[([A-Z_]+):(.*?)\]\]", re.DOTALL)
TYPES = {"EMAIL", "PHONE", "CARD", "IBAN", "ORDER_ID", "ACCOUNT_ID", "URL", "ADDRESS", "PERSON"}

# ---------------------------------------------------------------------------------------
# Checksummed values
# ---------------------------------------------------------------------------------------


def luhn_digit(payload: str) -> str:
    """Return the Luhn check digit for ``payload``."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def break_luhn(number: str) -> str:
    last = int(number[-1])
    return number[:-1] + str((last + 3) % 10)


def fmt_card(number: str, style: str) -> str:
    if style == "plain":
        return number
    sep = " " if style == "space" else "-"
    if len(number) == 15:  # Amex 4-6-5
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def iban_check(country: str, bban: str) -> str:
    moved = bban + country + "00"
    digits = "".join(str(int(c, 36)) for c in moved)
    return f"{98 - int(digits) % 97:02d}"


IBAN_FORMATS = {  # country: BBAN as (kind, count) pieces; n=digit, a=upper letter, c=alnum
    "DE": [("n", 18)],
    "GB": [("a", 4), ("n", 14)],
    "FR": [("n", 10), ("c", 11), ("n", 2)],
    "NL": [("a", 4), ("n", 10)],
    "ES": [("n", 20)],
    "IT": [("a", 1), ("n", 10), ("c", 12)],
    "BE": [("n", 12)],
    "AT": [("n", 16)],
    "CH": [("n", 5), ("c", 12)],
    "IE": [("a", 4), ("n", 14)],
    "PL": [("n", 24)],
}


def make_iban(rng: random.Random, country: str) -> str:
    pools = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEFGHJKLMNP"}
    bban = "".join(
        "".join(rng.choice(pools[kind]) for _ in range(count))
        for kind, count in IBAN_FORMATS[country]
    )
    return country + iban_check(country, bban) + bban


def break_iban(iban: str) -> str:
    check = int(iban[2:4])
    return iban[:2] + f"{(check + 11) % 100:02d}" + iban[4:]


def fmt_iban(iban: str, grouped: bool) -> str:
    if not grouped:
        return iban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# ---------------------------------------------------------------------------------------
# Hand-written texts
# ---------------------------------------------------------------------------------------

EMAILS = [
    "Please send the invoice to [[EMAIL:anna.schmidt@example.com]], thanks.",
    "my email is [[EMAIL:marco.rossi+orders@example.org]]",
    "You can reach me at [[EMAIL:priya_n@mail.example.co.uk]] any time.",
    "Contact: [[EMAIL:J.OKAFOR@EXAMPLE.NET]]",
    "I changed my address from [[EMAIL:lars.e@example.se]] to "
    "[[EMAIL:lars.eriksson@eu.mail.example.com]].",
    "(email: [[EMAIL:tom-b@example.io]])",
    "Is [[EMAIL:fatima.alsayed1988@example.fr]] the right one on file?",
    "cc [[EMAIL:billing@accounts.example.de]] and [[EMAIL:h.becker@example.de]]",
    "<[[EMAIL:zofia.nowak@example.pl]]>",
    "Reply-To: [[EMAIL:chen.wei+support@example.cn]]",
    "my new mail is [[EMAIL:k.mensah@students.example.edu]].",
    "pls use [[EMAIL:dmitri_volkov77@example.ru]] not the old one",
    "The confirmation went to [[EMAIL:isabelle.laurent@example.fr]]; I never got it.",
    "send it to [[EMAIL:jan.devries@example.nl]]!",
    "Email [[EMAIL:aiko.t@sub.domain.example.jp]] regarding the refund.",
    "Login email: [[EMAIL:siobhan.oconnor@example.ie]] / username soconnor",
    "Forwarding from [[EMAIL:noreply+bounce-1234@notifications.example.com]]",
    "Could you update it to [[EMAIL:jose.garcia@example.es]]?",
    "[[EMAIL:ahmed.hassan@example.co]] is my work address",
    "Both [[EMAIL:nguyen.lan@example.vn]] and [[EMAIL:lan.n@example.com]] belong to me.",
    "write to [[EMAIL:sven.mueller@example.ch]] (that's my husband)",
    "E-mail: [[EMAIL:olu.adeyemi@example.ng]]",
    "I typed [[EMAIL:ritaferreira@example.pt]] at checkout",
    "The account is under [[EMAIL:m.kowalski+pinecrest@example.com]].",
    "contact me on [[EMAIL:yuki.tanaka@example.jp]] or by phone",
]

PHONES = [
    "Call me back on [[PHONE:(212) 555-0147]] please.",
    "my number is [[PHONE:212-555-0199]]",
    "Phone: [[PHONE:+1 212 555 0175]]",
    "You can text [[PHONE:415.555.0132]] after 5pm.",
    "Best number to reach me: [[PHONE:+1-646-555-0188 ext. 12]]",
    "Office line [[PHONE:(312) 555-0142 x204]], mobile [[PHONE:312-555-0166]].",
    "whatsapp [[PHONE:+12125550163]]",
    "I tried calling [[PHONE:1-800-555-0199]] but nobody answered.",
    "Ring me on [[PHONE:020 7946 0958]] tomorrow morning.",
    "My mobile is [[PHONE:07700 900123]].",
    "UK number: [[PHONE:+44 7700 900456]]",
    "please call [[PHONE:+44 20 7946 0321]] between 9 and 5",
    "Tel. [[PHONE:0161 496 0123]]",
    "Reach me at [[PHONE:+44 (0)20 7946 0011]]",
    "the landline is [[PHONE:0113 496 0555]]",
    "Meine Nummer: [[PHONE:+49 30 12345678]]",
    "Bitte rufen Sie mich unter [[PHONE:030 23125000]] an.",
    "Handy: [[PHONE:0171 2345678]]",
    "call [[PHONE:+49 151 23456789]] if the courier is lost",
    "Office Munich [[PHONE:+49 (0)89 1234567]]",
    "Telefon [[PHONE:040/1234567]]",
    "Mon numéro est le [[PHONE:06 12 34 56 78]].",
    "Appelez-moi au [[PHONE:+33 1 99 00 12 34]]",
    "my French mobile [[PHONE:+33 6 12 34 56 78]]",
    "fixe : [[PHONE:04.72.00.12.34]]",
    "Bel me op [[PHONE:+31 20 123 4567]]",
    "mijn nummer is [[PHONE:06-12345678]]",
    "phone [[PHONE:020-1234567]] (Amsterdam office)",
    "Dutch mobile: [[PHONE:+31 6 12345678]]",
    "Llámame al [[PHONE:+34 912 345 678]]",
    "Spanish number [[PHONE:+34 612 345 678]]",
    "Italian mobile: [[PHONE:+39 347 123 4567]]",
    "Our Sydney office: [[PHONE:+61 2 9876 5432]]",
    "Dublin: [[PHONE:+353 1 234 5678]]",
    "Zurich line [[PHONE:+41 44 668 18 00]]",
    "text me at [[PHONE:+1 (415) 555-0101]] when it ships",
    "Can you call [[PHONE:917 555 0123]] instead of my old number [[PHONE:718-555-0177]]?",
    "The delivery driver should phone [[PHONE:0117 496 0789]] on arrival.",
    "Tel: [[PHONE:+44 117 496 0666]] | Fax: [[PHONE:+44 117 496 0667]]",
    "my cell's [[PHONE:(503) 555-0110]], thanks!",
    "Number for the courier: [[PHONE:+49 40 1234567]]",
    "reach me on [[PHONE:0049 30 9876543]]",
    "Call +1 if you are in the US, the hotline is [[PHONE:+1 888 555 0100]].",
    "My husband's number [[PHONE:07700 900789]] works too.",
    "phone:[[PHONE:+33612345679]]",
    "Please update my number to [[PHONE:+31 10 123 4567]].",
    "nr [[PHONE:0612345670]]",
    "New number [[PHONE:(617) 555-0155]].",
    "Call the store on [[PHONE:+44 131 496 0456]] or [[PHONE:+44 29 2018 0789]].",
    "Wählen Sie [[PHONE:+49 221 9876543]] für Rückfragen.",
]

CHAT_NAMES = [
    "Hi, my name is [[PERSON:Anna Schmidt]] and my parcel never arrived.",
    "Hello, this is [[PERSON:Marco Rossi]] from the Milan store.",
    "[[PERSON:Priya Natarajan]] here, I have a question about my refund.",
    "I spoke with [[PERSON:Tom]] from billing yesterday and he said it was fixed.",
    "Can I talk to [[PERSON:Sarah]] again? She helped me last week.",
    "The package was signed for by [[PERSON:David Miller]], who is not me.",
    "My colleague [[PERSON:Oluwaseun Adeyemi]] placed the order for our team.",
    "Please address the parcel to [[PERSON:Siobhan O'Connor]].",
    "[[PERSON:José García]] ordered the boots, I'm his wife.",
    "I'm [[PERSON:Zofia Nowak]], the account holder.",
    "Thanks [[PERSON:Lars]], that solved it!",
    "Hi [[PERSON:Fatima]], any update on my return?",
    "Dear [[PERSON:Mr. Okafor]]-style letters are so formal, just call me [[PERSON:Chidi]].",
    "Is [[PERSON:Kwame Mensah]] still the manager at the Leeds shop?",
    "[[PERSON:Aiko]] said you could send a replacement.",
    "I'm writing on behalf of my mother, [[PERSON:Helga Braun]].",
    "[[PERSON:Dmitri]] from your team promised a call back.",
    "Hello [[PERSON:Isabelle]], thanks for the quick reply.",
    "Gift for [[PERSON:Jan de Vries]] - please include a card.",
    "The invoice should be in the name of [[PERSON:Hannah Becker]].",
    "Who is [[PERSON:Nguyen Thi Lan]]? That name is on my receipt.",
    "[[PERSON:Sven Müller]] picked up the order at the counter.",
    "Hey [[PERSON:Rita]]! Quick one: can I change sizes?",
    "my son [[PERSON:Lucas]] needs the jacket by Friday",
    "Agent [[PERSON:Emily Carter]] closed my ticket without answering.",
    "Good morning [[PERSON:Ahmed]], I'm still waiting for the label.",
    "Please let [[PERSON:Yuki Tanaka]] know the tent arrived damaged.",
    "This order is for [[PERSON:Grace Liu]], she will pick it up.",
    "The courier left it with my neighbour [[PERSON:Pierre Dubois]].",
    "[[PERSON:Elena Petrova]]'s account was charged twice.",
    "I'd like to speak to [[PERSON:Mrs. Johansson]] please.",
    "Ask [[PERSON:Carlos]] in returns, he knows the case.",
    "Thank you so much, [[PERSON:Mia]]!",
    "Cheers [[PERSON:Ben]]",
    "Hi [[PERSON:Laura]] and [[PERSON:Kenji]], the exchange worked perfectly.",
    "Regards, [[PERSON:Ingrid Halvorsen]]",
    "The card belongs to my partner [[PERSON:Alex Moreau]].",
    "[[PERSON:Noah Fischer]] - customer since 2015 - here.",
    "Last time [[PERSON:Olivia]] gave me a 10% voucher.",
    "My daughter [[PERSON:Amara Okeke]] will sign for it.",
    "Could [[PERSON:Dr. Patel]] receive the order at the clinic?",
    "Bonjour [[PERSON:Camille]], merci pour votre aide.",
    "Hallo [[PERSON:Jonas]], die Jacke passt leider nicht.",
    "Spoke to [[PERSON:Rosa Martínez]] on the phone, she was great.",
    "I am [[PERSON:William Clarke]] and I want to cancel.",
    "[[PERSON:Chen Wei]] and [[PERSON:Li Na]] share this account.",
    "Please thank [[PERSON:Matteo]] for me.",
    "Sent from my phone - [[PERSON:Tariq]]",
    "It was delivered to [[PERSON:Ewa Kowalczyk]] at the front desk.",
    "Hi team, [[PERSON:Björn Lindqvist]] here again about ticket 4471.",
    "Your colleague [[PERSON:Nadia]] told me to email you.",
    "Thanks a lot, [[PERSON:Samuel Osei]]",
    "the parcel was addressed to [[PERSON:Ms. Svetlana Ivanova]]",
    "[[PERSON:Ravi]], can you check the stock of the 2-person tent?",
    "Tell [[PERSON:Joanna]] the boots fit perfectly.",
]

LOWERCASE_NAMES = [
    "hi [[PERSON:anna]], where is my order?",
    "my name is [[PERSON:john smith]] and i need help",
    "thanks [[PERSON:marco]]!!",
    "talked to [[PERSON:kevin]] yesterday, he said 3 days",
    "this is [[PERSON:maria lopez]], i ordered a tent",
    "ok [[PERSON:sophie]] thanks for the help",
]

CARDS_TEXT = [
    "Card number {c}, expiry 09/27.",
    "I paid with {c} but was charged twice.",
    "my visa is {c}",
    "Can you refund to card {c}?",
    "The last payment used {c} (MasterCard).",
    "cc: {c} cvv i won't give",
    "Please charge {c} for the upgrade.",
    "Used card {c} on the 3rd.",
    "It's the Amex {c}.",
    "card no. {c}, name on card as on the account",
    "{c} - that's the card on file",
    "They debited {c} instead of my other card.",
]

IBANS_TEXT = [
    "Please refund to IBAN {i}.",
    "my bank account: {i}",
    "IBAN: {i} (Sparkasse)",
    "Refund to {i} please, not the card.",
    "Bank details {i}, account holder is me.",
    "Kontoverbindung: {i}",
    "can you send the money to {i}?",
    "New IBAN {i} - the old one is closed.",
    "Virement sur {i} svp",
    "Transfer the deposit to {i}",
    "rekeningnummer {i}",
    "IBAN {i}. BIC not needed I think.",
]

ORDERS = [
    "Where is order [[ORDER_ID:PC-123456]]?",
    "my order number is [[ORDER_ID:pc-482913]]",
    "Order [[ORDER_ID:PC-000781]] arrived damaged.",
    "I want to return items from [[ORDER_ID:PC-556012]] and [[ORDER_ID:PC-556013]].",
    "Re: [[ORDER_ID:PC-903344]] - wrong size",
    "(order [[ORDER_ID:Pc-310077]])",
    "Cancel [[ORDER_ID:PC-771205]] please, I ordered twice.",
    "Bestellung [[ORDER_ID:PC-640218]] ist nicht angekommen.",
    "Refund for [[ORDER_ID:PC-219904]] still pending.",
    "[[ORDER_ID:PC-118230]]: the zip broke after one week",
    "Order #[[ORDER_ID:PC-450091]] shows delivered but it isn't.",
    "I placed [[ORDER_ID:PC-382741]] on Monday.",
]

ACCOUNTS = [
    "My customer account is [[ACCOUNT_ID:ACC-10482733]].",
    "account [[ACCOUNT_ID:ACC1029384]] is locked",
    "Account no. [[ACCOUNT_ID:ACC-558201]]",
    "Please merge [[ACCOUNT_ID:ACC-2093847561]] into [[ACCOUNT_ID:ACC-2093847562]].",
    "loyalty account [[ACCOUNT_ID:ACC-7730192]] has no points",
    "Kundenkonto [[ACCOUNT_ID:ACC-88120934]]",
    "[[ACCOUNT_ID:ACC449102]] - that's the business account",
    "The voucher went to [[ACCOUNT_ID:ACC-3048112]] by mistake.",
]

URLS = [
    "Reset link: [[URL:https://pinecrest.example/reset?token=8f3kQ2xLm9Zp4Rt7Vb1N]]",
    "This link doesn't work: "
    "[[URL:https://app.pinecrest.example/login?session=a81f9c2d7e4b4f10b3c2]]",
    "Here's the invoice [[URL:https://files.example.net/d/9fK2mQ7xLp4RtZ8vB1nC/invoice.pdf]]",
    "Tracking page [[URL:https://pinecrest.example/track?order=PC-123457&sig=4f9a1c2e8b7d6a5f]] "
    "says delivered.",
    "I clicked [[URL:https://pinecrest.example/account/verify?code=739201&email=x]] but it expired",
    "[[URL:https://api.example.com/v1/orders?api_key=sk_live_51HxQ2kLmN8pR4tV]] returns 401",
    "The unsubscribe link "
    "[[URL:https://mail.example.com/u?auth=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123]] is broken",
    "password reset: [[URL:http://pinecrest.example/pw?password=Summer2024!]]",
    "Shared doc: [[URL:https://docs.example.org/share/3b1f7c9e-2a4d-4e8b-9c6f-1d2e3f4a5b6c]]",
    "Callback url "
    "[[URL:https://pinecrest.example/oauth/callback#access_token=ya29.a0AfH6SMBx7Q&expires_in=3599]]",
    "download from [[URL:https://cdn.example.com/dl/xK9mP2qR7sT4vW8yZ3bN6cF1/manual.pdf]]",
    "Magic link: [[URL:https://pinecrest.example/magic?key=Qm9vdHNTaXplNDJQbGVhc2U]]",
]

PLAIN_URLS = [
    "See https://pinecrest.example/help for our return policy.",
    "The size guide at https://pinecrest.example/size-guide?lang=de is wrong.",
    "I found it on www.pinecrest.example/tents/trailhead-2p",
    "Link: https://pinecrest.example/blog/2024/03/packing-list",
    "Your page https://pinecrest.example/returns?page=2&sort=asc doesn't load.",
    "Check https://status.pinecrest.example before reporting outages.",
    "http://pinecrest.example/stores?city=Leeds shows the wrong hours",
    "Order page https://pinecrest.example/orders/[[ORDER_ID:PC-204518]] is blank.",
]

ADDRESSES = [
    "Please ship to [[ADDRESS:1420 Maple Avenue, Apt 4B, Springfield, IL 62704]].",
    "My address is [[ADDRESS:77 Elm St, Boston, MA 02118]]",
    "New address: [[ADDRESS:305 West Oak Street, Suite 210, Portland, OR 97205]]",
    "deliver to [[ADDRESS:221B Baker Street, London NW1 6XE]]",
    "I moved to [[ADDRESS:14 Kings Road, Brighton BN1 2AB]] last month.",
    "Send it to [[ADDRESS:Flat 3, 27 Church Lane, Leeds LS1 4AP]]",
    "Lieferadresse: [[ADDRESS:Hauptstraße 12, 10115 Berlin]]",
    "Meine Adresse ist [[ADDRESS:Lindenstrasse 5a, 80331 München]].",
    "Adresse : [[ADDRESS:12 rue de la Paix, 75002 Paris]]",
    "ship to [[ADDRESS:8 avenue des Lilas, 69003 Lyon]] please",
    "Bezorgadres [[ADDRESS:Keizersgracht 123, 1015 CJ Amsterdam]]",
    "Dirección: [[ADDRESS:Calle Mayor 5, 28013 Madrid]]",
    "my postcode is [[ADDRESS:SW1A 1AA]]",
    "The parcel went to [[ADDRESS:9 Harbour View Road]] instead of number 19.",
    "billing address [[ADDRESS:450 Market Street, San Francisco, CA 94105]]",
    "It should go to [[ADDRESS:88 Queen's Drive, Glasgow G42 8DD]].",
    "[[ADDRESS:1600 Lakeshore Blvd Apt 12, Chicago, IL 60614]] is my work address",
    "Rechnungsadresse: [[ADDRESS:Bahnhofstr. 7, 04109 Leipzig]]",
    "leave it at [[ADDRESS:3 Mill Lane]], the back door",
    "pick-up from [[ADDRESS:56 Victoria Road, Manchester M14 5RQ]]",
    "we live at [[ADDRESS:2500 Sunset Boulevard, Los Angeles, CA 90026]]",
    "Address on file: [[ADDRESS:10 Downing Court, Bristol BS1 5TR]]",
]

TICKETS = [
    "Ticket #4471\nCustomer: [[PERSON:Anna Schmidt]]\nEmail: [[EMAIL:anna.schmidt@example.com]]\n"
    "Phone: [[PHONE:+49 30 12345678]]\nIssue: parcel lost, order [[ORDER_ID:PC-123456]]",
    "Name: [[PERSON:Marco Rossi]]\nAccount: [[ACCOUNT_ID:ACC-10482733]]\n"
    "Request: refund to [[IBAN:{iban_it}]]",
    "TICKET 8812 | from [[EMAIL:priya_n@mail.example.co.uk]] | tel [[PHONE:07700 900123]] | "
    "subject: wrong colour",
    "Customer [[PERSON:Kwame Mensah]] ([[EMAIL:k.mensah@students.example.edu]]) reports that order "
    "[[ORDER_ID:PC-556012]] was delivered to [[ADDRESS:56 Victoria Road, Manchester M14 5RQ]] "
    "instead of his home.",
    "Escalation: caller [[PERSON:Helga Braun]], callback [[PHONE:0171 2345678]], card ending 4242 "
    "was charged twice.",
    "Name: [[PERSON:Siobhan O'Connor]]\nAddress: [[ADDRESS:14 Kings Road, Brighton BN1 2AB]]\n"
    "Reason: exchange size 38 for size 39",
    "[priority: high] [[PERSON:Dmitri Volkov]] says the refund for [[ORDER_ID:PC-903344]] went to "
    "the wrong account; correct IBAN [[IBAN:{iban_de}]].",
    "Ticket 9920 - [[PERSON:Isabelle Laurent]] - [[PHONE:+33 6 12 34 56 78]] - wants invoice "
    "re-issued to [[EMAIL:isabelle.laurent@example.fr]]",
    "Customer provided card [[CARD:{card_visa}]] and asked for a chargeback.",
    "From: [[PERSON:Jan de Vries]] <[[EMAIL:jan.devries@example.nl]]>\n"
    "Subject: Bestelling [[ORDER_ID:PC-640218]]\nKlant wil retour.",
    "Agent note: spoke with [[PERSON:Grace Liu]] on [[PHONE:(212) 555-0147]], resending to "
    "[[ADDRESS:1420 Maple Avenue, Apt 4B, Springfield, IL 62704]].",
    "Caller: [[PERSON:Tariq Hussain]]; account [[ACCOUNT_ID:ACC1029384]]; issue: login loop on "
    "[[URL:https://app.pinecrest.example/login?session=ff02a9c3d1e84b7aa6c1]]",
    "Ticket 1204 closed by agent [[PERSON:Emily Carter]]. Resolution: voucher 15%.",
    "Assigned to: [[PERSON:Ben Taylor]]\nCustomer: [[PERSON:Olivia Brown]]\n"
    "Contact: [[EMAIL:olivia.b@example.co.uk]], [[PHONE:+44 20 7946 0321]]",
    "Reported by [[PERSON:Chen Wei]] via chat at 14:32. Card [[CARD:{card_mc}]] declined 3 times.",
    "Return label for [[PERSON:Rosa Martínez]], [[ADDRESS:Calle Mayor 5, 28013 Madrid]], "
    "[[PHONE:+34 612 345 678]]",
    "Fraud check: card [[CARD:{card_amex}]] / IBAN [[IBAN:{iban_gb}]] / email "
    "[[EMAIL:dmitri_volkov77@example.ru]]",
    "Ticket 3310: [[PERSON:Noah Fischer]] cannot log in, reset link "
    "[[URL:https://pinecrest.example/reset?token=Zx81KqP0vL2mN7bR4tY9]] expired.",
    "Customer name: [[PERSON:Amara Okeke]]\nOrder: [[ORDER_ID:PC-771205]]\nStatus: cancelled",
    "Callback requested: [[PHONE:+31 6 12345678]] ([[PERSON:Sanne Bakker]]), Dutch speaking.",
]

EMAIL_BODIES = [
    "Hi [[PERSON:Laura]],\n\nthanks for getting back to me. The tent arrived but one pole is "
    "missing. Order [[ORDER_ID:PC-219904]].\n\nBest regards,\n[[PERSON:Thomas Weber]]",
    "Dear Pinecrest team,\n\nI would like to return the jacket (size M). Please send the label "
    "to [[EMAIL:hannah.becker@example.de]].\n\nKind regards,\n[[PERSON:Hannah Becker]]\n"
    "[[PHONE:+49 151 23456789]]",
    "Hello,\n\nmy card [[CARD:{card_visa2}]] was charged twice for the same order. Can you refund "
    "one of them?\n\nThanks,\n[[PERSON:Lucas Martin]]",
    "Good afternoon,\n\nplease refund the amount to my bank account [[IBAN:{iban_fr}]] instead "
    "of the voucher.\n\nCordialement,\n[[PERSON:Camille Bernard]]",
    "Hi there,\n\nI never received the parcel. It was supposed to go to "
    "[[ADDRESS:2500 Sunset Boulevard, Los Angeles, CA 90026]].\n\nCheers,\n[[PERSON:Jake]]",
    "Dear [[PERSON:Mr. Anderson]],\n\nthank you for your message. Your refund of EUR 89.90 has "
    "been processed.\n\nBest,\n[[PERSON:Nadia]]\nPinecrest Customer Care",
    "Hello [[PERSON:Sofia]],\n\nthe boots in size 42 are back in stock. Let us know if you still "
    "want them.\n\nWarm regards,\nThe Pinecrest Team",
    "Hi,\n\ncould you change the delivery address to "
    "[[ADDRESS:Keizersgracht 123, 1015 CJ Amsterdam]]? "
    "My phone is [[PHONE:06-12345678]].\n\nGroeten,\n[[PERSON:Daan Visser]]",
    "To whom it may concern,\n\nI'm writing about order [[ORDER_ID:PC-118230]]. The zip broke "
    "after "
    "a week.\n\nSincerely,\n[[PERSON:Margaret Collins]]\n[[ADDRESS:77 Elm St, Boston, MA 02118]]",
    "Hey,\n\nquick question: do you ship to Norway?\n\nThanks!\n[[PERSON:Ingrid]]",
    "Hi [[PERSON:Kenji]],\n\nas discussed on the phone, here is my new number: "
    "[[PHONE:+44 7700 900456]].\n\nBest wishes,\n[[PERSON:Aiko Tanaka]]",
    "Hello support,\n\nplease remove my account [[ACCOUNT_ID:ACC-558201]] and all data. My email "
    "is "
    "[[EMAIL:m.kowalski+pinecrest@example.com]].\n\nRegards\n[[PERSON:Marek Kowalski]]",
    "Dear [[PERSON:Ms Okafor]],\n\nwe have received your return. The refund will be sent to "
    "[[IBAN:{iban_nl}]] within 5 business days.\n\nKind regards,\n[[PERSON:Peter]] | Pinecrest",
    "Hi [[PERSON:Ahmed]],\n\nyour replacement ships today. Tracking is available in your account."
    "\n\nThanks,\n[[PERSON:Julia]] from Pinecrest",
    "Hello,\n\nI'd like to update my details:\nNew address: "
    "[[ADDRESS:Hauptstraße 12, 10115 Berlin]]\nNew phone: [[PHONE:030 23125000]]\n\n"
    "Danke,\n[[PERSON:Felix Wagner]]",
    "Guten Tag,\n\nbitte erstatten Sie den Betrag auf [[IBAN:{iban_at}]].\n\n"
    "Mit freundlichen Grüßen\n[[PERSON:Katharina Huber]]",
    "Hi,\n\nthe link you sent "
    "([[URL:https://pinecrest.example/verify?token=Q1w2E3r4T5y6U7i8O9p0]]) "
    "says it has expired.\n\nBest,\n[[PERSON:Oscar Lindgren]]",
    "Hello [[PERSON:Grace]],\n\nplease find attached the photo of the damaged box.\n\n"
    "Many thanks,\n[[PERSON:Robert Hughes]]\nSent from my iPhone",
    "Dear customer service,\n\nmy name is [[PERSON:Valentina Russo]] and I ordered two sleeping "
    "bags "
    "([[ORDER_ID:PC-450091]]). Only one arrived.\n\nGrazie,\n[[PERSON:Valentina]]",
    "Hi [[PERSON:Tom]],\n\ncan you call me on [[PHONE:0161 496 0123]]? It's easier.\n\n"
    "Thanks\n[[PERSON:Rachel Green]]",
    "Hello,\n\nplease cancel the subscription linked to "
    "[[EMAIL:lars.eriksson@eu.mail.example.com]]."
    "\n\n/[[PERSON:Lars Eriksson]]",
    "Dear [[PERSON:Dr. Patel]],\n\nyour order is ready for pick-up at our Leeds store.\n\n"
    "Best regards,\nPinecrest Leeds",
    "Hi again,\n\nI paid by bank transfer from [[IBAN:{iban_es}]] on 14 March but the order "
    "still says unpaid.\n\nSaludos,\n[[PERSON:Javier Torres]]",
    "Hello,\n\nforwarding my colleague's request. She can be reached at "
    "[[EMAIL:e.petrova@corp.example.com]] or [[PHONE:+1 (415) 555-0101]].\n\n"
    "Regards,\n[[PERSON:Daniel Kim]]",
    "Hi,\n\nI was charged for [[ORDER_ID:PC-382741]] on card [[CARD:{card_mc2}]] even though I "
    "cancelled it.\n\nThanks,\n[[PERSON:Chloe Martin]]",
]

NEGATIVES = [
    "The jacket costs $129.99 and shipping is free over $50.",
    "Delivery is planned for 12/03/2024 between 9:00 and 17:30.",
    "I ordered 3 pairs of socks in size 42.",
    "Back in 2019 I bought the same tent and it lasted five years.",
    "Product code TR-4821-XL is out of stock.",
    "The total was €1,249.00 including VAT.",
    "Is the 2-person tent waterproof to 3000 mm?",
    "It weighs 2.5 kg, which is too heavy for me.",
    "Our stores open at 8am and close at 6pm.",
    "The app says version 3.6.1 but I can't update.",
    "You offered 30% off last Black Friday.",
    "Invoice dated 25.12.2023 shows the wrong VAT rate.",
    "I have 1,250 loyalty points, can I use them?",
    "The sleeping bag is rated to -10 °C.",
    "Reference 2024-03-15 in your letter doesn't match anything.",
    "Model number 8804-221 is printed on the box.",
    "Shipping to zone 4 takes 5-7 business days.",
    "I need 2 x 500 ml bottles and 1 x 1 L.",
    "The package measures 60 x 40 x 25 cm.",
    "Tracking code looks like PX4410ZQ77 but it doesn't work.",
    "My voucher code SPRING24 was rejected.",
    "Order placed on 14 March at 10:42, still processing.",
    "The boots were 189.00 GBP, now 149.00 GBP.",
    "Can I return it after 30 days?",
    "Which size is best for 180 cm and 75 kg?",
    "I bought the Trailhead 45 backpack and the Summit Pro jacket.",
    "Is the Aurora down jacket available in navy?",
    "The Pinecrest app keeps crashing on Android 14.",
    "Do you have the Alpine X in size 10.5?",
    "Item 3 of 4 is missing from the parcel.",
    "Your hotline was busy from 9:15 to 9:45.",
    "The parcel weighs 12 kg and costs 14.90 to ship.",
    "Please quote ticket 4471 in replies.",
    "Store hours: Mon-Fri 09:00-18:00, Sat 10:00-16:00.",
    "I've been a member since 2012.",
    "Batch number 20240315-A on the gas canister.",
    "The error code was E-1042.",
    "Pinecrest Plus membership renews on 01.04.2025.",
    "Price per unit 4.99, quantity 12, total 59.88.",
    "Temperature rating 5/0/-15 °C (comfort/limit/extreme).",
    "SKU 100234-56 and SKU 100234-57 look identical.",
    "My flight is on 2024-07-01 so I need it by June 28.",
    "I'd like 4 of the 1.2 m tent poles.",
    "The discount should be 15 percent, not 10.",
    "Reorder point is 250 units, lead time 14 days.",
    "Gift card balance 25.00 EUR.",
    "The tent footprint is 210 x 140 cm.",
    "Hello, is anyone there?",
    "Thanks for your help!",
    "Hi team, the zip on my jacket is broken.",
    "Good morning, I have a question about returns.",
    "Thank you, that's all.",
    "Cheers, have a nice weekend!",
    "Can you call me back tomorrow?",
    "The order number is printed on the invoice.",
    "Product ID 7734412 is listed twice on your site.",
    "I paid 2,499 SEK for the stove.",
    "Warehouse 3, aisle 12, shelf 4.",
    "Packed on 2023/11/05, shipped on 2023/11/07.",
    "The headlamp gives 350 lumens for 40 hours.",
    "Card ending in 4242 was used, I believe.",
    "Our Leeds store is closed on Sundays.",
    "Receipt no. 000482 from the Berlin shop.",
    "Size 38 EU equals UK 5.",
    "Hi, I'm looking for a waterproof jacket under 200.",
    "The return window is 30 days from 1 December.",
    "Weight limit 120 kg per chair.",
    "Serial 4410-2231-0098 on the stove base.",
    "I'd rate the service 9/10.",
    "Please ship 2 units by 15:00 on Friday.",
    "Could Pinecrest add a vegan leather option?",
    "See you at the Trailhead store opening!",
    "Order total: 3 items, 1 package, 0 returns.",
    "I measured 27.5 cm foot length.",
    "Voucher WELCOME10 expires 31/12/2025.",
    "Can I pay with Visa or Mastercard?",
    "Do you accept American Express?",
    "The lock code for the locker is 1234.",
    "Rucksack 35L, 1.1 kg, 3 colours.",
    "In 2023 you had 3 sales; will there be one in 2025?",
]

PLACEHOLDERED = [
    "I want to check the status of {{Order Number}}",
    "Please send the invoice to [EMAIL_1], not [EMAIL_2].",
    "Hi [PERSON_1], your refund for {{Order Number}} is on its way.",
    "I need to change the address to {{Delivery Address}}",
    "my card [CARD_1] was charged twice",
    "Call me at [PHONE_1] about {{Invoice Number}}.",
    "could you help me cancel order {{Order Number}}?",
    "Refund to [IBAN_1] please, account {{Account Number}}.",
    "Thanks, [PERSON_2]! See [URL_1] for details.",
    "I'd like to speak to {{Customer Service}} about {{Refund Amount}}",
    "Hello [PERSON_1], [ORDER_ID_1] shipped to [ADDRESS_1].",
    "What's the {{Person Name}} on the account {{Account Type}}?",
]

MIXED_CHAT = [
    "hi, it's [[PERSON:Tom Becker]] again, my number changed to [[PHONE:0171 2345678]]",
    "Order [[ORDER_ID:PC-118231]] for [[PERSON:Mia Schulz]], ship to "
    "[[ADDRESS:Lindenstrasse 5a, 80331 München]]",
    "Can you send the receipt to [[EMAIL:grace.liu@example.com]]? Phone [[PHONE:917 555 0123]].",
    "I paid with [[CARD:{card_visa3}]], order [[ORDER_ID:PC-905521]], still nothing.",
    "[[PERSON:Anna]]: my IBAN is [[IBAN:{iban_de2}]]",
    "agent: Thanks [[PERSON:Marco]]. Can you confirm your email?\nuser: "
    "[[EMAIL:marco.rossi+orders@example.org]]",
    "user: order [[ORDER_ID:PC-230981]]\nagent: Thanks! Is the address still "
    "[[ADDRESS:221B Baker Street, London NW1 6XE]]?\nuser: yes",
    "user: can u refund to [[CARD:{card_mc3}]]\nagent: We can only refund to the original card.",
    "[[PERSON:Priya]] ([[PHONE:+44 7700 900789]]) asked about [[ORDER_ID:PC-117654]].",
    "My wife [[PERSON:Elena]] and I both have accounts: [[ACCOUNT_ID:ACC-7730192]] and "
    "[[ACCOUNT_ID:ACC-7730193]].",
    "Send the refund to [[IBAN:{iban_gb2}]] or back to the card, whatever is faster. - "
    "[[PERSON:Oliver]]",
    "hey [[PERSON:Sam]], tracking [[URL:https://pinecrest.example/t/Hq7Zp2Lk9Xw4Rm8Ns3Vb]] shows "
    "nothing since Tuesday",
    "Name on the order is [[PERSON:Fatima Al-Sayed]], email "
    "[[EMAIL:fatima.alsayed1988@example.fr]].",
    "Re: [[ORDER_ID:PC-640219]] - [[PERSON:Lukas Hoffmann]] - please call [[PHONE:+49 40 1234567]]",
    "The driver ([[PERSON:Mike]]) left the box at [[ADDRESS:3 Mill Lane]].",
    "My account [[ACCOUNT_ID:ACC-88120934]] still shows my old IBAN [[IBAN:{iban_be}]].",
    "Hi! [[PERSON:Zoe Adams]] here, can I pay with card [[CARD:{card_amex2}]]?",
    "Please send a courier to [[ADDRESS:450 Market Street, San Francisco, CA 94105]], contact "
    "[[PERSON:Daniel Kim]] at [[PHONE:(415) 555-0139]].",
    "[[PERSON:Lena]] said I should forward "
    "[[URL:https://files.example.net/d/Tz4Qw8Nc2Lp6Hx9Rb3Mv/photo.jpg]]",
    "Account [[ACCOUNT_ID:ACC-3048112]], IBAN [[IBAN:{iban_ch}]], name [[PERSON:Urs Keller]].",
]


def build_decoys(rng: random.Random) -> list[str]:
    texts = []
    # Luhn-invalid card-like numbers (not PII annotations).
    card_templates = [
        "Is {c} a valid card number? The form rejects it.",
        "I typed {c} but it says invalid.",
        "Reference number {c} on the bank statement.",
        "Gift card serial {c}",
        "Loyalty number {c} please add the points.",
        "The box says {c} on the barcode.",
        "Tracking {c} is not found.",
        "membership {c}",
    ]
    prefixes = [
        ("4", 16),
        ("5", 16),
        ("37", 15),
        ("4", 16),
        ("2", 16),
        ("6011", 16),
        ("4", 16),
        ("5", 16),
    ]
    styles = ["space", "dash", "plain", "space", "plain", "dash", "space", "plain"]
    for tpl, (prefix, length), style in zip(card_templates, prefixes, styles, strict=True):
        texts.append(tpl.format(c=fmt_card(break_luhn(make_card(rng, prefix, length)), style)))
    # Invalid-checksum IBANs.
    iban_templates = [
        "Is {i} right? My bank app says invalid.",
        "Old IBAN {i} (typo, ignore)",
        "The form rejected {i}.",
        "you have {i} on file but that's wrong",
        "IBAN {i} bounced.",
        "{i} - is this a valid format?",
        "I think I mistyped it: {i}",
        "Rejected transfer to {i}",
    ]
    countries = ["DE", "GB", "FR", "NL", "ES", "DE", "NL", "IT"]
    for k, (tpl, country) in enumerate(zip(iban_templates, countries, strict=True)):
        texts.append(tpl.format(i=fmt_iban(break_iban(make_iban(rng, country)), k % 2 == 0)))
    # Order-like codes that are not the shop's format.
    texts += [
        "Old order PC-12345 from the previous system.",
        "Parcel code PCK-482913 from the courier.",
        "ACC-12 is the aisle in the warehouse.",
        "Code APC-123456X on the label.",
    ]
    return texts


def build(rng: random.Random) -> list[str]:
    texts: list[str] = []
    texts += EMAILS + PHONES + CHAT_NAMES + LOWERCASE_NAMES + ORDERS + ACCOUNTS
    texts += URLS + PLAIN_URLS + ADDRESSES

    card_specs = [
        ("4", 16, "space"),
        ("4", 16, "dash"),
        ("4", 16, "plain"),
        ("51", 16, "space"),
        ("55", 16, "dash"),
        ("2221", 16, "plain"),
        ("34", 15, "space"),
        ("37", 15, "dash"),
        ("37", 15, "plain"),
        ("6011", 16, "space"),
        ("4", 13, "plain"),
        ("53", 16, "space"),
    ]
    for tpl, (prefix, length, style) in zip(CARDS_TEXT, card_specs, strict=True):
        texts.append(tpl.format(c=f"[[CARD:{fmt_card(make_card(rng, prefix, length), style)}]]"))
    # Well-known public test numbers too.
    for number in ("4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"):
        texts.append(f"Test card [[CARD:{number}]] works in your sandbox?")

    iban_specs = [
        ("DE", True), ("DE", False), ("GB", True), ("GB", False), ("FR", True), ("FR", False),
        ("NL", True), ("NL", False), ("ES", True), ("ES", False), ("IT", True), ("BE", False),
    ]  # fmt: skip
    for tpl, (country, grouped) in zip(IBANS_TEXT, iban_specs, strict=True):
        texts.append(tpl.format(i=f"[[IBAN:{fmt_iban(make_iban(rng, country), grouped)}]]"))
    texts.append("lowercase works? [[IBAN:" + fmt_iban(make_iban(rng, "DE"), True).lower() + "]]")
    texts.append("Polish account [[IBAN:" + fmt_iban(make_iban(rng, "PL"), True) + "]]")

    values = {
        "iban_it": fmt_iban(make_iban(rng, "IT"), True),
        "iban_de": fmt_iban(make_iban(rng, "DE"), False),
        "iban_gb": fmt_iban(make_iban(rng, "GB"), True),
        "iban_fr": fmt_iban(make_iban(rng, "FR"), True),
        "iban_nl": fmt_iban(make_iban(rng, "NL"), True),
        "iban_at": fmt_iban(make_iban(rng, "AT"), True),
        "iban_es": fmt_iban(make_iban(rng, "ES"), False),
        "iban_de2": fmt_iban(make_iban(rng, "DE"), True),
        "iban_gb2": fmt_iban(make_iban(rng, "GB"), False),
        "iban_be": fmt_iban(make_iban(rng, "BE"), True),
        "iban_ch": fmt_iban(make_iban(rng, "CH"), True),
        "card_visa": fmt_card(make_card(rng, "4", 16), "space"),
        "card_visa2": fmt_card(make_card(rng, "4", 16), "dash"),
        "card_visa3": fmt_card(make_card(rng, "4", 16), "plain"),
        "card_mc": fmt_card(make_card(rng, "52", 16), "space"),
        "card_mc2": fmt_card(make_card(rng, "2720", 16), "space"),
        "card_mc3": fmt_card(make_card(rng, "54", 16), "dash"),
        "card_amex": fmt_card(make_card(rng, "37", 15), "space"),
        "card_amex2": fmt_card(make_card(rng, "34", 15), "plain"),
    }
    for block in (TICKETS, EMAIL_BODIES, MIXED_CHAT):
        texts += [t.format(**values) if "{" in t else t for t in block]
    texts += build_decoys(rng)
    texts += NEGATIVES + PLACEHOLDERED
    return texts


def parse(marked: str) -> dict[str, object]:
    """Strip ``[[TYPE:value]]`` markup and return the text with exact span offsets."""
    out: list[str] = []
    spans: list[dict[str, object]] = []
    pos = 0
    length = 0
    for m in MARK.finditer(marked):
        before = marked[pos : m.start()]
        out.append(before)
        length += len(before)
        kind, value = m.group(1), m.group(2)
        if kind not in TYPES:
            raise ValueError(f"unknown type {kind!r}")
        # Titles are outside PERSON spans (annotation rule); split them off.
        title = re.match(r"(?:Mr|Mrs|Ms|Dr)\.? ", value) if kind == "PERSON" else None
        if title:
            out.append(title.group(0))
            length += len(title.group(0))
            value = value[len(title.group(0)) :]
        spans.append({"start": length, "end": length + len(value), "type": kind})
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(marked[pos:])
    text = "".join(out)
    if "[[" in text or "]]" in text:
        raise ValueError(f"unparsed markup in {marked!r}")
    return {"text": text, "spans": spans}


def main() -> None:
    rng = random.Random(20240601)
    records = [parse(t) for t in build(rng)]
    texts = [r["text"] for r in records]
    if len(set(texts)) != len(texts):
        dupes = {t for t in texts if texts.count(t) > 1}
        raise SystemExit(f"duplicate texts: {dupes}")
    target = Path(__file__).with_name("pii_set.jsonl")
    with target.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for r in records:
        for s in r["spans"]:  # type: ignore[attr-defined]
            counts[s["type"]] = counts.get(s["type"], 0) + 1
    sys.stdout.write(f"{len(records)} texts -> {target}\n{json.dumps(counts, sort_keys=True)}\n")


if __name__ == "__main__":
    main()
