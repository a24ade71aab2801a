"""Generate ``bot/data/demo_stream.jsonl``, the stream that ``crmbot demo`` replays (shipped
with the package, so the demo runs from any directory).

The stream covers the 72 hours up to 2026-11-20T18:00:00Z at the fictional company Acme
Cloud (a photo-backup and file-sync service with mobile apps and Free, Pro and Enterprise
plans). The company ships version 5.0 (with a crash on video upload, fixed in 5.0.1), has an
upload outage on 19 November, double-charges some buyers of its early Black Friday deal and
works a sales pipeline in HubSpot. One JSON object per line, sorted by time:

- ``mention``: a social post from Twitter, Mastodon, Reddit, Bluesky or a Trustpilot review
  (RSS), in the format of ``bot.sources.schema``;
- ``crm``: a HubSpot event (new lead, deal stage change, ticket, contact update), same schema;
- ``action``: a teammate (ana, ben: support; chloe: sales) claiming, replying to or resolving
  a conversation. ``ref`` names the first event of the conversation.

About a dozen mentions are delivered twice (a webhook retry), a few lines apart, with the same
time as the original. The output is the same on every run (``random.Random(42)``)::

    .venv/bin/python examples/make_demo_stream.py
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 42
END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
START = END - timedelta(hours=72)
RELEASE = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)  # Acme Cloud 5.0 ships
OUTAGE = (
    datetime(2026, 11, 19, 13, 48, tzinfo=UTC),
    datetime(2026, 11, 19, 16, 30, tzinfo=UTC),
)
PROMO = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # early Black Friday deal (double charges)
OUT = Path(__file__).resolve().parent.parent / "bot" / "data" / "demo_stream.jsonl"

UNTOUCHED_SHARE = 0.30  # conversations left for the user's queue
ACTION_BUDGET = (85, 138)  # number of action lines
DUPLICATES = 12

SOURCE = {
    "twitter": "twitter",
    "mastodon": "mastodon",
    "reddit": "reddit",
    "bluesky": "bluesky",
    "rss": "trustpilot",
}
BRAND = {
    "twitter": "@acmecloud",
    "mastodon": "@acmecloud@mastodon.social",
    "bluesky": "@acmecloud.bsky.social",
    "reddit": "Acme Cloud",
    "rss": "Acme Cloud",
}
SUPPORT_CATS = ("crash", "sync", "billing", "outage", "slow", "sarcasm", "question", "privacy")
SALES_CATS = ("pricing", "enterprise", "trial", "demo", "churn", "switch_in")

# UTC hour -> relative posting activity (Europe and the Americas awake).
HOUR_WEIGHT = (4, 3, 3, 2, 2, 2, 3, 4, 6, 7, 8, 8, 9, 9, 9, 9, 9, 9, 8, 8, 7, 7, 6, 5)


def _pool(block: str) -> list[str]:
    """Entries of a text block, separated by blank lines; wrapped lines are joined."""
    return [" ".join(part.split()) for part in block.strip().split("\n\n")]


def _records(block: str) -> list[tuple[list[str], list[str]]]:
    """``_pool`` entries written as ``field field ... | text [| text]``: (fields, texts)."""
    rows = []
    for entry in _pool(block):
        head, *texts = entry.split(" | ")
        rows.append((head.split(), texts))
    return rows


def _words(text: str) -> list[str]:
    return text.split()


def _items(text: str) -> list[str]:
    return text.split("|")


def _one(block: str) -> str:
    return " ".join(block.split())


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _when(text: str) -> datetime:
    """``18T13:20``: 2026-11-18 13:20 UTC."""
    day, clock = text.split("T")
    hour, minute = clock.split(":")
    return _t(int(day), int(hour), int(minute))


@dataclass(frozen=True)
class Plan:
    """How teammates handle a conversation (forced for scripted conversations)."""

    staff: str | None
    pattern: str  # full | claim_reply | claim_resolve | claim | none
    ack: bool = False  # the author answers the teammate's reply


def _plan(text: str) -> Plan | None:
    """``chloe/full/ack``, ``ben/claim`` or ``-`` (no forced plan)."""
    if text == "-":
        return None
    staff, pattern, *ack = text.split("/")
    return Plan(staff, pattern, ack == ["ack"])


# -- people -------------------------------------------------------------------------------

FIRST_NAMES = {
    "en": _words(
        "Maya Liam Sofia Noah Aisha Lucas Emma Mateo Wei Olivia Ethan Zara Ravi Nora Jonas "
        "Amara Felix Ines Kenji Leah Diego Hana Owen Fatima Samir Clara Tyler Yuki Marco Elif "
        "Jamal Freya Arjun Theo Imani Greta Kofi Sienna Dmitri Caleb Aylin Rosa Hugo Esme Jack "
        "Priti Connor Lina Malik Ruth Isaac Mei Oscar Tessa Victor Abby Ahmed Bea Cyrus Dora"
    ),
    "es": _words("Lucía Javier Carmen Alejandro Valeria Pablo Marta Andrés"),
    "de": _words("Katrin Stefan Jana Tobias Anke Lukas Miriam Jörg"),
    "fr": _words("Camille Julien Élodie Mathieu Léa Antoine Manon Romain"),
}

LAST_NAMES = {
    "en": _words(
        "Patel Nguyen Garcia Smith Rossi Kowalski Okoye Silva Johansson Kim Dubois Tanaka "
        "Hughes Moreau Costa Reyes Brennan Ahmed Lindqvist Sato Walsh Mendes Ito Byrne Laurent "
        "Carter Osei Park Quinn Romero Shah Turner Vance Weber Young Zhou Bell Cho Diaz Evans"
    ),
    "es": _words("Fernández López Martín Sánchez Romero Navarro Ortega Castillo"),
    "de": _words("Müller Schneider Fischer Wagner Becker Hoffmann Schulz Koch"),
    "fr": _words("Bernard Lefèvre Girard Rousseau Fontaine Mercier Blanc Garnier"),
}

MASTODON_INSTANCES = _words(
    "mastodon.social mastodon.social fosstodon.org hachyderm.io chaos.social mas.to "
    "mastodon.online photog.social infosec.exchange"
)

REDDIT_WORDS = (
    ("Quiet", "Lazy", "Rusty", "Salty", "Curious", "Grumpy", "Cosmic", "Spare", "Tired", "Mild"),
    ("Lens", "Drive", "Parity", "Shutter", "Pixel", "Archive", "Tape", "Raccoon", "Badger", "Bit"),
)
HANDLE_SUFFIXES = _words("photos codes writes makes designs travels runs ux dev pm shoots")


@dataclass(eq=False)
class Author:
    platform: str
    handle: str
    name: str
    followers: int
    email: str | None = None
    greet: str | None = None  # how staff address them ("Dana"); None -> first name

    @property
    def first(self) -> str:
        return self.greet or self.name.split()[0]

    @property
    def at(self) -> str:
        """How the author is @-mentioned in a reply on their platform."""
        if self.platform == "reddit":
            return f"u/{self.handle}"
        return f"@{self.handle}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "handle": self.handle,
            "name": self.name,
            "followers": self.followers,
        }
        if self.email:
            data["email"] = self.email
        return data


# Well-known voices: tech journalists, YouTubers, photographers (50k to 2M followers).
PERSONAS: dict[str, tuple[str, str, str, int, str | None]] = {
    "dana": ("twitter", "dana_whitfield", "Dana Whitfield | TechDaily", 482_300, "Dana"),
    "tariq": ("twitter", "techwithtariq", "Tariq Aziz", 1_352_000, "Tariq"),
    "gadgetdesk": ("twitter", "gadgetdesk", "The Gadget Desk", 1_914_500, "there"),
    "marcus": ("twitter", "marcushale", "Marcus Hale", 212_800, None),
    "priyanka": ("twitter", "priyankarao", "Priyanka Rao", 741_200, None),
    "nadia": ("twitter", "nadiabrooks", "Nadia Brooks", 309_600, None),
    "olu": ("twitter", "oluwrites", "Olu Adeyemi", 58_400, None),
    "alex": ("twitter", "alexchenlabs", "Alex Chen Labs", 67_100, "Alex"),
    "backupnerd": ("twitter", "backupnerd", "The Backup Nerd", 98_300, "there"),
    "rita": ("twitter", "ritagomez_tech", "Rita Gómez", 125_900, None),
    "lena": ("bluesky", "lenavogel.bsky.social", "Lena Vogel", 86_200, None),
    "sam": ("bluesky", "samortega.bsky.social", "Sam Ortega", 155_400, None),
    "hiro": ("bluesky", "hirotanaka.bsky.social", "Hiro Tanaka", 231_000, None),
    "jens": ("mastodon", "jkraft@mastodon.social", "Jens Kraft", 64_700, None),
    "petra": ("mastodon", "petra@hachyderm.io", "Petra Lindgren", 71_300, None),
    "kev": ("mastodon", "kev@fosstodon.org", "Kev Quirk-ish", 52_900, "there"),
}

# Social authors who are also CRM contacts (the contact's handles list their handle).
CONTACT_AUTHORS: dict[str, tuple[str, str, str, int, str | None]] = {
    "priya": ("twitter", "priyabuilds", "Priya Shah", 3_140, "priya@lumenlabs.example"),
    "daniel": ("twitter", "danielk_photo", "Daniel Kim", 1_870, "daniel@kimphoto.example"),
    "daniel_rd": ("reddit", "danielk_photo", "danielk_photo", 212, None),
    "mia": ("twitter", "mia_t", "Mia Torres", 640, None),
    "mia_rd": ("reddit", "mia_t", "mia_t", 95, None),
    "grace": ("twitter", "graceliu", "Grace Liu", 2_480, "grace@northwind.example"),
    "hannah": ("mastodon", "hbecker@chaos.social", "Hannah Becker", 410, "hb@beckerdesign.example"),
    "tom": ("bluesky", "tomalvarez.bsky.social", "Tom Alvarez", 1_205, None),
    "omar": ("twitter", "omarhaddad", "Omar Haddad", 4_310, None),
    "marek": ("reddit", "marek_ops", "marek_ops", 340, None),
    "rachel": ("reddit", "raidz2_rachel", "raidz2_rachel", 1_020, None),
}

# -- text ---------------------------------------------------------------------------------

SLOTS: dict[str, list[str]] = {
    "device": _items(
        "iPhone 17 Pro|iPhone 16|iPhone 15|Pixel 10|Pixel 9a|Galaxy S26|Galaxy S25 Ultra|"
        "OnePlus 14|iPad Air|iPad Pro"
    ),
    "competitor": _items("Dropbox|Google Photos|iCloud|Backblaze|pCloud|OneDrive|Sync.com|Ente"),
    "feature": _items(
        "end-to-end encryption|a Linux desktop client|guest uploads to shared albums|"
        "RAW + JPEG pairing|offline face search|backup of external drives|"
        "Live Photos support on Android|a Lightroom Classic plugin|hardware security keys|"
        "a 'pause backup for an hour' button|HEIC to JPEG on download|"
        "expiring share links for folders|duplicate photo detection"
    ),
    "praise_feature": _items(
        "Smart Albums|the new search|background upload|the family plan|version history|"
        "the web app|duplicate cleanup|Memories"
    ),
    "n": _items("2,300|4,312|7,900|12,000|18,500|38,000|61,000"),
    "small_n": _items("20|30|50|100"),
    "gb": _items("80|250|400|900|1,500"),
    "pct": _items("97|99|42|88|73"),
    "left": _items("1|3|12|241|57"),
    "hours": _items("3|5|9|14|26"),
    "days": _items("2|3|4|6|9"),
    "price": _items("$9.99|$99.00|$59.40|$14.99"),
    "version": _items("5.0|5.0|5.0.1"),
    "seats": _items("12|25|40|60|150"),
    "neg": _items("😤|🙃|😩|😡|🤦|💀|😬|🫠"),
    "pos": _items("🙌|❤️|🔥|👏|😍|✨|💯|🎉"),
    "Brand": _items("Acme Cloud|Acme Cloud|Acme"),
}

# Standalone posts on Twitter, Mastodon and Bluesky. {brand} is the platform's @-handle.
BACKGROUND: dict[str, list[str]] = {
    "crash": _pool("""
        {brand} the app crashes every single time I try to upload more than ~{small_n} photos.
        {device}, latest version. {neg}

        Since the {version} update {brand} crashes the moment I hit "Upload all". Reinstalled
        twice, same thing.

        {brand} your Android app just force-closed mid-upload and now it says 0 of {n} photos
        backed up?? {neg}

        {brand} crash report: open app → pick album → upload → instant crash. {device}, iOS
        27.1. Happy to send logs.

        Third crash in ten minutes. What happened to the {device} app, {brand}? {neg}

        {brand} the iPad app crashes when I drag in a folder of RAW files. JPEGs are fine. This
        is my whole workflow, please fix
    """),
    "sync": _pool("""
        {brand} sync has been stuck at "{pct}% — {left} items remaining" since last night.
        Nothing I do moves it.

        My desktop client says "Up to date" but half the folder is missing on the web. {brand}
        what is going on with sync?

        {brand} files I deleted on my laptop keep coming back from the dead. Sync ghosts 👻

        Anyone know how to unstick {Brand} sync? It's been "preparing" for {hours} hours on my
        {device}.

        {brand} the Mac app pegs my CPU at 100% and sync still crawls at 200 KB/s. On gigabit
        fiber. {neg}

        Conflicted copies everywhere. "IMG_2231 (conflicted copy 3).jpg" — {brand} this is not
        a backup, it's a mess {neg}
    """),
    "billing": _pool("""
        {brand} I was charged twice for Pro this month. Two identical charges of {price}.
        Please refund one.

        Cancelled my trial before it ended and {brand} still billed me {price}. How do I get
        this reversed? {neg}

        {brand} your invoice says Pro, my account says Free. I'm paying for something I can't
        use.
    """),
    "outage": _pool("""
        is {Brand} down? uploads just spin forever

        {brand} is the service down? web app is throwing 503s {neg}

        Acme Cloud down again?? Can't log in on any device {neg}

        {brand} status page says all green but nothing is uploading. Is there an outage?

        Is it just me or is Acme Cloud down right now #AcmeCloudDown

        Downdetector has Acme Cloud reports spiking. Glad it's not just my wifi {neg}

        {brand} getting "502 Bad Gateway" on every upload. Down for everyone?
    """),
    "slow": _pool("""
        Opened a ticket with {brand} {days} days ago. Still nothing but the auto-reply. {neg}

        {brand} is there an actual human in support? The chat bot keeps sending me the same
        FAQ link.

        {brand} your support bot closed my ticket as "resolved". It is very much not resolved.
    """),
    "sarcasm": _pool("""
        Love how {brand} "backs up" my photos by keeping them in a permanent "pending" state.
        Very zen. {neg}

        Great job {brand}, the new update moved the upload button AND made it crash. Two
        features in one 👏

        Nothing says peace of mind like your backup app logging you out four times a day.
        Thanks {brand} 🙃

        Oh cool, {brand} sent me a "Your memories from 2019" notification for photos it still
        hasn't finished uploading. 🙂
    """),
    "churn": _pool("""
        After this week I'm switching to {competitor}. {brand} you had a good run.

        Cancelled my Acme Cloud Pro today. Switching to {competitor}, at least their app doesn't
        crash {neg}

        {brand} give me one good reason not to move my {gb} GB to {competitor} before my renewal

        Exported everything from Acme and switching to {competitor}. The export took two days
        but hey, it worked.
    """),
    "praise": _pool("""
        {brand} {praise_feature} is genuinely great. Found a photo of my grandpa from 2009 in
        about three seconds {pos}

        Shoutout to {brand} support, sorted out my account in 10 minutes on a Sunday. {pos}

        Finally moved all {n} photos to {Brand} and my phone can breathe again {pos}

        Been using {Brand} for four years. Never lost a file. That's the review. {pos}

        {brand} version history just saved my thesis draft. I owe you a coffee ☕

        The new {Brand} web app is fast. Like, actually fast. {pos}

        {brand} the family plan took two minutes to set up and my parents actually understood
        it. Miracle {pos}

        Restored my whole library to a new {device} from {Brand} overnight. Zero drama {pos}
    """),
    "feature": _pool("""
        {brand} any plans for {feature}? It's the one thing keeping me from upgrading to Pro.

        Feature request for {brand}: {feature}. Would pay extra, honestly.

        {brand} please please please add {feature} 🙏

        Dear {brand}, it's 2026. Where is {feature}?

        Would love to see {feature} in {Brand}. Is there a public roadmap somewhere?
    """),
    "pricing": _pool("""
        {brand} what's the actual price difference between Pro monthly and yearly? The pricing
        page is confusing.

        {brand} do you have student pricing? Grad student with way too many field photos.

        Hey {brand}, does the Black Friday pricing apply to existing Pro subscribers or just new
        ones?

        {brand} pricing question: if I go over 2 TB on Pro, do you throttle or charge per GB?
    """),
    "trial": _pool("""
        Started a {Brand} Pro trial today. 30 days to see if it can handle my {n}-photo library.

        {brand} does the Pro trial need a credit card? Don't want another surprise
        subscription.
    """),
    "comparison": _pool("""
        Tested {Brand} and {competitor} side by side: Acme uploads faster, {competitor} has
        nicer sharing. Tough call.

        Honest take: {Brand} search beats {competitor}, {competitor} wins on price.
    """),
    "question": _pool("""
        {brand} how do I stop the app from uploading screenshots? Can't find the setting.

        Quick q {brand}: if I delete a photo from my phone, does it get deleted from Acme too?

        {brand} can I share an album with someone who doesn't have an account?

        {brand} do you keep original quality or compress photos like some others do?
    """),
    "switch_in": _pool("""
        Officially switching to {Brand} from {competitor}. The migration tool moved {n} photos
        without a hiccup {pos}

        {brand} is there a migration tool for {competitor}? Thinking of switching to Acme for
        the whole family.
    """),
}

# How many standalone posts of each kind, and when they may happen.
BACKGROUND_PLAN: list[tuple[str, int, tuple[datetime, datetime]]] = [
    ("crash", 2, (RELEASE, END)),
    ("sync", 2, (START, END)),
    ("billing", 1, (START, PROMO)),
    ("outage", 4, OUTAGE),
    ("slow", 1, (START, END)),
    ("sarcasm", 1, (RELEASE, END)),
    ("churn", 1, (START, END)),
    ("praise", 7, (START, END)),
    ("feature", 3, (START, END)),
    ("pricing", 2, (START, END)),
    ("trial", 1, (START, END)),
    ("comparison", 1, (START, END)),
    ("question", 2, (START, END)),
    ("switch_in", 2, (START, END)),
]

# Same-author follow-ups to a standalone post (no staff involvement needed).
FOLLOW_UPS: dict[str, list[str]] = {
    "crash": _pool("""
        Update: still crashing. Tried my partner's phone too, same thing. {brand}

        Day 2 of not being able to upload anything {neg} {brand}

        Update: turning off "original quality" stops the crash. Not a fix, but it's something.
    """),
    "sync": _pool("""
        Update: signing out and back in got sync moving. Six hours to catch up, but it's moving.

        Still stuck at the same spot. {brand} anyone home?
    """),
    "outage": _pool("""
        Back up for me now. That was a long hour.

        still down here 🙃 {brand}
    """),
    "praise": _pool("""
        Also, the new search found every receipt photo I took for my taxes. Ok I'm a fan now.
    """),
    "feature": _pool("""
        To be clear, I'd pay for a higher tier just for this. {brand}
    """),
    "churn": _pool("""
        For the record, migration off Acme took one evening. Not a good sign for them.
    """),
}

# The author answers after a teammate replied (must stay after that reply).
ACKS: dict[str, list[str]] = {  # by category, then by team
    "crash": _pool("""
        That did it: the update plus a reinstall fixed the crash. Thanks for the quick reply!

        Updated to 5.0.1 and uploads work again. Thanks {brand}!
    """),
    "sync": _pool("""
        Signed out and back in like you said and it's syncing again. Thank you!
    """),
    "billing": _pool("""
        Appreciate the fast answer {brand} 🙏

        Ok, I can see the refund as pending now. Thanks for sorting it out.
    """),
    "outage": _pool("""
        Uploads are going through again here. Thanks for the updates {brand}
    """),
    "privacy": _pool("""
        Thanks for the straight answer {brand}. An E2EE vault would get me to upgrade.
    """),
    "enterprise": _pool("""
        Thanks {brand}! Booked a call with your team for Monday.
    """),
    "demo": _pool("""
        Demo booked for Tuesday. Thanks {brand}!
    """),
    "trial": _pool("""
        Trial extension went through, thanks {brand} 🙌
    """),
    "pricing": _pool("""
        Perfect, that's exactly what I needed to know. Upgrading tonight.
    """),
    "support": _pool("""
        Thanks {brand}, DM sent with my account email.

        Got a reply from {brand} within the hour. Still annoyed, but credit where it's due.
    """),
    "sales": _pool("""
        Thanks {brand}, that helps. Will take a look this week.
    """),
    "social": _pool("""
        Haha thanks {brand} ❤️

        Good to know it's on the roadmap, thanks for answering!
    """),
    "es": ["¡Gracias {brand}! Ya funciona otra vez 🙌"],
    "de": ["Danke {brand}, jetzt synchronisiert es wieder."],
    "fr": ["Merci {brand}, c'est réglé !"],
    "reddit": _pool("""
        Edit: Acme support replied and it's sorted. Thanks for the suggestions everyone.

        Edit: got a reply from Acme, they're on it. Will update.
    """),
}

# The author tries again when nobody has answered.
NUDGES = _pool("""
    {brand} still waiting on a reply here... 🙄

    Bumping this. {brand} anyone?

    {brand} it's been hours. Is anyone reading these?

    Still no answer from {brand}. Starting to look at alternatives.
""")

# What teammates reply, by the category of the conversation's first event.
REPLIES: dict[str, list[str]] = {
    "crash": _pool("""
        Hi {first}, sorry about the crash! 5.0.1 fixes the upload crash and is rolling out now.
        If it still happens after updating, DM us your app version and we'll dig in.

        Thanks for flagging, {first}. Could you DM us your device model and roughly when it last
        crashed? We'll pull the logs on our side.

        So sorry {first}. Until the fix reaches you, turning off "Include videos" under
        Settings > Backup lets your photos finish.
    """),
    "sync": _pool("""
        Hi {first}, sorry sync is stuck! Could you sign out and back in on the desktop app? If
        it stays at the same spot, DM us and we'll check your account.

        Thanks {first}. We found a sync issue with some large folders after 5.0 and a fix is
        going out now. Your queue should resume within the hour.
    """),
    "billing": _pool("""
        Hi {first}, so sorry about the double charge. A checkout bug duplicated some payments;
        the extra one is being refunded automatically and should show within 2-3 business days.

        {first}, we've refunded the duplicate payment. You'll get a confirmation email shortly.
        Sorry for the hassle!
    """),
    "outage": _pool("""
        Sorry {first}! We're on it. Updates at status.acmecloud.example. Your photos are safe
        and uploads resume by themselves once it's fixed.

        Hi {first}, we know, and the whole team is on it. Nothing is lost: queued photos upload
        automatically once we're back. Updates at status.acmecloud.example.
    """),
    "outage:fixed": _pool("""
        Hi {first}, we had an incident affecting uploads and sync. It's fixed now and no data
        was lost. Anything queued on your devices uploads automatically.

        Sorry about that, {first}. Uploads are back to normal and nothing was lost. A
        post-incident report will follow on status.acmecloud.example.
    """),
    "slow": _pool("""
        Hi {first}, sorry for the wait. I found your ticket and I'm taking it over myself;
        you'll hear from me today.
    """),
    "sarcasm": _pool("""
        Fair, {first}. We've passed this to the product team. DM us and we'll help with your
        account in the meantime.
    """),
    "question": _pool("""
        Hi {first}! Settings > Backup > Sources lets you exclude screenshots and other folders.
        Shout if you can't find it.

        Good question, {first}: deleting on your phone doesn't delete from Acme unless you turn
        on "Mirror deletions".
    """),
    "privacy": _pool("""
        Hi {first}, photos are encrypted in transit and at rest with keys we manage. An optional
        end-to-end encrypted vault for Pro is planned for next year. Details:
        acmecloud.example/security
    """),
    "churn": _pool("""
        Sorry to hear that, {first}. Before you go, could we do a quick call? I'd like to
        understand what went wrong and see if we can make it right.
    """),
    "pricing": _pool("""
        Hi {first}! Pro is $9.99/mo or $99/yr for 2 TB, so yearly saves about 17%. Happy to help
        you pick, DM us anytime.

        Great question, {first}. I've sent you a DM with the details and a link to our pricing
        calculator.
    """),
    "enterprise": _pool("""
        Hi {first}, Chloe from Acme sales here. Enterprise includes SAML SSO, SCIM, audit logs
        and EU data residency. I've sent you a DM to set up a call and a custom quote.
    """),
    "demo": _pool("""
        Hi {first}! Happy to show you the team features. Here's a link to book a 30-minute demo
        at a time that suits you: acmecloud.example/demo
    """),
    "trial": _pool("""
        Hi {first}, done! I've extended your trial by 7 days. Let me know if you'd like a quick
        walkthrough of the admin panel.

        No credit card needed for the trial, {first}. You'll get a reminder three days before it
        ends.
    """),
    "switch_in": _pool("""
        Hi {first}, welcome! Our import tool handles Google Photos, iCloud, Dropbox and more
        (acmecloud.example/import). If anything looks off, DM us and we'll take a look.
    """),
    "praise": _pool("""
        This made our day, {first}! Thanks for sharing 💙

        Thank you {first}! Passing this on to the team.
    """),
    "feature": _pool("""
        Thanks {first}! It's on our roadmap and I've added your vote. We'll share news on the
        blog when it's closer.
    """),
    "review": _pool("""
        Thanks {first}! Happy to answer any follow-up questions for your readers, DMs are open.
    """),
    "comparison": _pool("""
        Thanks for including us, {first}! If you'd like to dig into restore speed or pricing
        above 2 TB, we're happy to help.
    """),
    "lead": _pool("""
        Sent intro email with pricing and a demo link.

        Called, left a voicemail; follow-up email sent with case studies.

        Booked a discovery call for Monday.
    """),
    "deal:qualification": _pool("""
        Discovery call done; proposal goes out this week.

        Intro call booked with their IT lead.
    """),
    "deal:proposal": _pool("""
        Walked them through the proposal; they asked for a two-year option.

        Followed up on the proposal, decision expected next week.
    """),
    "deal:negotiation": _pool("""
        Sent revised pricing with a two-year option; legal review next.

        Procurement call scheduled to close out terms.
    """),
    "deal": _pool("""
        Kickoff with onboarding scheduled.
    """),
    "ticket": _pool("""
        Looked into it; customer updated with next steps.
    """),
    # Posts in other languages get an answer in their language (apology or thanks).
    "es:neg": _pool("""
        ¡Hola {first}! Perdona las molestias. La versión 5.0.1 corrige el cierre al subir
        fotos; si sigue fallando, escríbenos por DM.
    """),
    "es:pos": _pool("""
        ¡Muchas gracias, {first}! Nos alegra mucho leer esto 💙
    """),
    "de:neg": _pool("""
        Hallo {first}, das tut uns leid! Bitte einmal ab- und wieder anmelden. Falls es danach
        noch hängt, schreib uns per DM, dann schauen wir uns dein Konto an.
    """),
    "de:pos": _pool("""
        Danke für den Test, {first}! Der Fix für den Absturz bei großen Videos kommt mit 5.0.1,
        das Update wird gerade verteilt.
    """),
    "fr:neg": _pool("""
        Bonjour {first}, désolés pour la gêne ! Déconnectez-vous puis reconnectez-vous à
        l'application ; si la synchro reste bloquée, écrivez-nous en DM.
    """),
    "fr:pos": _pool("""
        Merci {first}, et bienvenue ! Si quelque chose cloche avec l'import, écrivez-nous en DM.
    """),
}

# Replies written for one conversation: by the handle of the author who started it, or by the
# CRM object (notes on tickets).
SCRIPTED_REPLIES: dict[str, str] = {
    "ticket-8850": "Walked the customer through sign-out/sign-in; sync resumed for all 12 seats.",
    "ticket-8863": "Confirmed the 5.0 video crash; customer gets the 5.0.1 rollout notice.",
    "ticket-8870": "Linked to the upload incident; customer updated with the status page link.",
    "ticket-8877": "Refund issued for the duplicate charge; confirmation sent to the customer.",
    "ticket-8882": "Cleared the stuck session; customer can log in on the iPad again.",
    "ticket-8889": "Approved a one-month service credit for the outage.",
    "dana_whitfield": _one("""
        Thanks for the thorough review, Dana! The Android video crash is fixed in 5.0.1, rolling
        out today.
    """),
    "marcushale": _one("""
        Thanks for the honest take, Marcus! A faster desktop app is our top priority for Q1; happy
        to set up a call with the product team if you'd like to share feedback.
    """),
    "nadiabrooks": _one("""
        Hi Nadia, thanks for flagging. A checkout bug on Nov 19 duplicated some payments for about
        two hours. Every affected customer is being refunded automatically; statement in your DMs.
    """),
    "gadgetdesk": _one("""
        Acme Cloud here: we're working on the incident affecting uploads and sync. No data has
        been lost; updates on status.acmecloud.example, and a full report once it's resolved.
    """),
    "raidz2_rachel": _one("""
        Hi! Chloe from Acme sales here. Above 2 TB there are storage add-ons and a family option
        on Enterprise. I've sent you a DM with a quote for 4 TB.
    """),
    "tomalvarez.bsky.social": _one("""
        Hi Tom, done! I've extended your team's trial by 7 days. Let me know if you'd like a quick
        walkthrough of the admin panel.
    """),
}

# Reviews: category mood lang | text.
TRUSTPILOT = _records("""
    billing neg en | ★☆☆☆☆ Charged twice, no human reply. Upgraded to Pro with the Black Friday
    deal and was billed twice. The chat bot keeps telling me refunds are automatic. Still
    waiting.

    crash neg en | ★★☆☆☆ Great app when it works. The 5.0 update broke uploads on my phone for
    a day and the outage on Thursday didn't help. Search is excellent, reliability isn't.

    praise pos en | ★★★★★ Saved my wedding photos. My laptop died the week after the wedding
    and every single photo was in Acme Cloud. Restoring took one evening.

    praise pos en | ★★★★★ Simple and it just works. Set it up on my parents' phones and haven't
    had a single 'where are my photos' call since.

    pricing neu en | ★★★☆☆ Good service, confusing pricing. The app is solid and search is
    brilliant, but I needed three emails to understand what happens above 2 TB.

    sync neg en | ★☆☆☆☆ Sync conflicts everywhere. Our small office uses it for shared folders
    and we get conflicted copies every day. Support is polite but slow.

    praise pos en | ★★★★☆ Fast support. Had a login loop on my iPad, chat support fixed it in
    ten minutes. One star off because the iPad app still lags behind the phone app.

    billing neg de | ★☆☆☆☆ Doppelt abgebucht! Beim Upgrade auf Pro wurde der Jahresbeitrag
    zweimal berechnet. Der Support verspricht eine automatische Rückerstattung, bisher ist
    nichts da.

    praise pos fr | ★★★★★ Enfin une sauvegarde photo simple. Toutes mes photos de famille sont
    retrouvables en quelques secondes grâce à la recherche. Je recommande.
""")


# -- threads ------------------------------------------------------------------------------
# Thread scripts: one entry per post, "who mood [lang] [+minutes] | text". who is "op" (the
# thread's author), "new" (someone new), or a persona/contact key. +minutes pins the post's
# time relative to the thread start; other posts follow the previous one after a random gap.
# In texts, {op} is the thread author's @handle, {prev} the previous poster's.


@dataclass
class ThreadScript:
    platform: str
    start: datetime
    span_minutes: int
    cat: str
    op: str  # "new", "brand" (the thread starts at a post of Acme's own) or a known author key
    entries: list[str]
    root: str = ""  # "mood [lang] | text" of the opening post ("" when op is "brand")
    sub: str | None = None  # subreddit
    title: str | None = None
    plan: Plan | None = None  # how teammates handle the thread (None: decided at random)


THREADS: list[ThreadScript] = [
    ThreadScript(
        platform="twitter",
        start=_t(19, 13, 57),
        span_minutes=170,
        cat="outage",
        op="brand",
        entries=_pool("""
            new neg | {brand} uploads have been failing for me for 40 minutes, glad it's not
            just me

            new neg | {brand} web app gives me a 503 and the iOS app just spins. Any ETA?

            new neg | {brand} I have a client delivery in an hour and my files are stuck on
            "syncing" 😩

            new neg | {brand} your status page still says all systems operational lol

            new neg | {brand} third outage this quarter. Seriously considering switching to
            Dropbox before my renewal.

            new neg es | {brand} ¿está caído el servicio? No puedo sincronizar nada desde hace
            una hora

            new neg | {brand} Android app shows "error 502" on every upload. Pixel 10, latest
            version.

            new pos | {brand} thanks for the update at least. Hope the on-call folks have
            coffee ☕

            new neg | {brand} is there any risk of data loss? I deleted photos from my phone
            this morning assuming they were backed up 😬

            new neg | {brand} can't even log in on the desktop app now 🙃

            olu neg | {brand} two outages in a month and the status page was green for both.
            That's the part that erodes trust.

            new neu | {brand} will Pro customers get a credit for this? Two hours of downtime
            on a workday isn't nothing.

            new neu | {brand} looks like uploads are working again for me in Berlin 🎉

            new neg | {brand} still broken here in Chicago. Web works, phone doesn't.

            new neg | {brand} my "backup complete" notification was a lie, half of today's
            photos aren't on the web

            new neu | {brand} anything we need to do once it's fixed, or will queued uploads
            just resume?

            new pos | {brand} back up and my queue of 600 photos just flew through. Thanks for
            fixing it fast 🙏

            new neg | {brand} been refreshing your status page for an hour. Some actual
            communication would be nice.

            new neu | {brand} is the API down too? Our app's uploads to Acme are failing as
            well

            new neg | {brand} fixed? My shared album links still 404
        """),
        plan=Plan("ben", "full"),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(19, 14, 46),
        span_minutes=130,
        cat="outage",
        op="gadgetdesk",
        root=_one("""
            neg | Acme Cloud is having a major outage: uploads and sync are failing for users
            across the US and Europe. The company says it is investigating. {brand}
        """),
        entries=_pool("""
            new neg | {op} {brand} down for over an hour here in Madrid. Not great timing.

            new neu | {op} this is why you keep two backups, people. One cloud is not a backup
            plan.

            new neg | {op} and their status page said everything was fine for the first 40
            minutes

            rita neg es | {op} Confirmado también en México: la app de {brand} no sube ni una
            foto.

            new neu | {op} curious whether it's the storage layer or just the upload API.
            Downloads work fine for me.

            new neg | {op} we pay for Enterprise specifically for the "99.9% uptime" 🙃

            new neg | {op} {brand} lost a whole afternoon of work to this. Not impressed.

            op neu +125 | Update: Acme Cloud says service is restored and no data was lost. A
            post-incident report is promised for next week. {brand}
        """),
        plan=Plan("ana", "full"),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(18, 15, 5),
        span_minutes=300,
        cat="review",
        op="dana",
        root=_one("""
            pos | Acme Cloud 5.0 is out today and I've used it for a week. Short version: Smart
            Albums is the best photo search I've tried outside Google. Longer version below 🧵
            {brand}
        """),
        entries=_pool("""
            op pos +2 | 2/ Uploads are noticeably faster on iPhone and background backup
            finally behaves. I stopped thinking about it, which is the point.

            op neg +4 | 3/ Not great: the Android app crashed twice on me while uploading 4K
            video. Acme says a fix is coming in 5.0.1.

            op neu +6 | 4/ Pricing stays at $9.99/mo for 2 TB, but the Free tier drops to 5 GB,
            which will annoy people. Full review: techdaily.example/acme-cloud-5

            new neg | {op} {brand} the Android video crash is real, happens to me every single
            time

            new neu | {op} great write-up. How does Smart Albums compare to Google Photos on
            face grouping?

            new neg | {op} 5 GB free in 2026 is a joke tbh

            new pos | {op} been on the beta for a month, Smart Albums found my passport photo
            in a 40k library. Magic.

            backupnerd neu | {op} did you test restores? That's where most of these services
            fall apart.

            op neu | {prev} not yet, a restore test is next week's piece

            new pos | {op} Smart Albums is the first "AI feature" I've actually used more than
            once. Great thread.

            new neu | {op} {brand} any word on whether 5.0 comes to the Windows desktop app
            too?

            new neg | {op} the iPad app is still on 4.x for me, no Smart Albums 😒
        """),
        plan=Plan("ana", "full"),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(20, 15, 2),
        span_minutes=160,
        cat="review",
        op="tariq",
        root=_one("""
            neu | New video: I tested 6 photo backup apps for 30 days so you don't have to. The
            winner surprised me 👀 {brand} @Dropbox @googlephotos youtu.be/xT8kq2Lw0Qe
        """),
        entries=_pool("""
            new neu | {op} Acme won?? After yesterday's outage? Bold 😂

            op neu | {prev} the outage is in the video at 14:20, it cost them points. Still won
            on search and restore speed.

            new pos | {op} great vid. Acme's search really is on another level, switched last
            year and never looked back

            new pos | {op} your restore numbers match mine, Acme is stupid fast at restores

            new neu | {op} you should try Immich self-hosted next, would love a comparison

            alex neu | {op} nice methodology. Did you test with HEIC or converted JPEGs? Makes
            a big difference for upload speed

            new neg | {op} {brand} tried it after your video, app crashed during the first
            upload lol

            new neu | {op} what about family sharing? That's the deciding factor for us

            new neu | {op} {brand} is there a discount code for Tariq's viewers? 👀

            new neg | {op} still too expensive for what it is. iCloud is right there.
        """),
        plan=Plan(None, "none"),
    ),
    ThreadScript(
        platform="bluesky",
        start=_t(20, 9, 30),
        span_minutes=420,
        cat="switch_in",
        op="sam",
        root=_one("""
            neu | Switching to Acme Cloud from Google Photos after 9 years. The migration tool
            is chugging through 61k photos right now. Will report back. {brand}
        """),
        entries=_pool("""
            new neu | {op} curious how it handles Live Photos and the Google Takeout JSON dates

            new pos | {op} did the same in the spring. Search is better than Google's, honestly

            op neu +300 | Update: migration finished. Albums intact, dates correct, a few Live
            Photos lost their video half. Mostly impressed.

            new neg | {op} the Live Photo thing bit me too. Support said it's a known bug, no
            ETA 🙁

            new pos | {op} the migration tool is genuinely good, it did 20k photos for me
            without a single missing file

            new neu | {op} how's the pricing compared to Google One for 2 TB?
        """),
        plan=Plan("chloe", "claim_reply"),
    ),
    ThreadScript(
        platform="mastodon",
        start=_t(18, 10, 5),
        span_minutes=240,
        cat="privacy",
        op="jens",
        root=_one("""
            neu | Honest question for {brand}: are photos end-to-end encrypted, or can Acme
            staff technically see my files? The privacy page is vague. #privacy #AcmeCloud
        """),
        entries=_pool("""
            new neu | {op} their docs say "encrypted at rest and in transit". That usually
            means they hold the keys.

            new neg | {op} if it isn't E2EE I'm not putting my kids' photos there. Simple as
            that.

            new neu | {op} Ente, or a self-hosted Immich box if you need E2EE. Acme is
            convenience first.

            new pos | {op} to be fair, they said in their AMA that an E2EE vault for Pro is
            planned

            new neu de | {op} Gleiche Frage hier. Für Firmenkunden in der EU ist das ein echtes
            Thema (DSGVO).

            new neg | {op} a "vague privacy page" usually means an answer you won't like

            new neu | {op} would happily pay more for an E2EE tier {brand}
        """),
        plan=Plan("ana", "full", ack=True),
    ),
    ThreadScript(
        platform="bluesky",
        start=_t(17, 22, 40),
        span_minutes=200,
        cat="feature",
        op="new",
        root=_one("""
            neu | {brand} feature request: let guests upload to shared albums, not just view.
            At every wedding I shoot, guests want to add their photos 📸 #photography
        """),
        entries=_pool("""
            new neu | {op} yes! We collect family reunion photos in a Google Drive folder just
            because of this

            hiro neu | {op} +1. And RAW + JPEG pairing please {brand}, I'd move all my client
            deliveries over

            new pos | {op} their shared albums are already the nicest I've used, this would
            make them perfect

            op neu | {prev} right? So close.

            new neu | {op} pretty sure it's on their roadmap page under "exploring"

            new neu | {op} a QR code on the tables at the reception that opens the upload page
            would be perfect
        """),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(17, 20, 10),
        span_minutes=900,
        cat="comparison",
        op="rachel",
        sub="DataHoarder",
        title="Acme Cloud vs Backblaze vs pCloud for a 4 TB photo archive?",
        root=_one("""
            neu | Family photo archive, ~4 TB, growing ~300 GB a year. Currently a Synology +
            Backblaze B2. Considering Acme Cloud for the phone/desktop side. Anyone using it at
            this size? Worried about pricing above 2 TB and restore speed.
        """),
        entries=_pool("""
            new neu | Acme is great for the phone side but I'd keep B2 for the archive. Their
            pricing above 2 TB gets silly fast.

            new pos | 3.2 TB on Acme Pro plus the storage add-on here. A restore of 800 GB took
            about a day. No complaints.

            new neg | Had sync stuck for a week with ~2 TB of RAW files. Support eventually
            fixed it but I lost trust.

            op neu | {prev} that's my worry too. Did they ever say what caused it?

            new neu | pCloud lifetime if you hate subscriptions. Acme if you want search that
            actually works.

            new neu | Rule 1: a sync service is not a backup. Keep your 3-2-1 whatever you
            pick.

            new neu | Their Enterprise plan has pooled storage but a 5-seat minimum. Could
            still be cheaper than you think for a family.

            new neg | The desktop client still can't back up external drives properly.
            Dealbreaker for me.

            op neu +840 | Update: got a pricing quote from Acme sales for 4 TB, way better than
            the website suggests. Will post numbers once I decide.

            new pos | Their restore is the fastest I've tested. Backblaze took 3x longer for
            the same 500 GB.

            new neu | If you go with Acme, turn on version history from day one. It saved me
            from a ransomware scare last year.

            new neu | Note the Free tier drops to 5 GB with 5.0, so family members on Free will
            need to upgrade.
        """),
        plan=Plan("chloe", "claim_reply"),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(18, 16, 40),
        span_minutes=1500,
        cat="crash",
        op="new",
        sub="iphone",
        title="Acme Cloud 5.0 crashes every time I upload (iPhone 17, iOS 27.1)",
        root=_one("""
            neg | Updated this morning and now the app crashes as soon as a backup starts.
            Reinstalled, rebooted, same. Anyone else? Is there a way to roll back?
        """),
        entries=_pool("""
            new neg | Same here on a 16 Pro. Crashes the second it hits a video.

            new neu | Workaround: Settings > Backup > turn off "Include videos", let photos
            finish, then turn it back on. Worked for me.

            op pos | {prev} that worked, thank you! Photos are going up now.

            new neg | Doesn't help me, it crashes even with videos off. 12k photo library.

            new neg | This is why I never update backup apps on day one. Lesson learned again.

            new neu | You can't roll back on iOS unfortunately. Offloading the app doesn't help
            either, tried it.

            new neu | Acme support on Twitter said 5.0.1 is in review with Apple. Should land
            in a day or two.

            new neg | Android too, not just iOS. My Pixel 10 crashes on upload since 5.0.

            mia_rd neg | Reported it to support with logs, ticket number and everything.
            Fingers crossed.

            new pos +1380 | 5.0.1 just showed up in the App Store for me, crash is gone 🎉

            op pos +1440 | Confirmed fixed with 5.0.1. Marking solved.
        """),
        plan=Plan("ben", "claim_reply"),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(18, 9, 20),
        span_minutes=600,
        cat="enterprise",
        op="marek",
        sub="sysadmin",
        title="Anyone running Acme Cloud Enterprise at 200+ seats? SSO/SCIM experience?",
        root=_one("""
            neu | Evaluating Acme Cloud Enterprise for ~220 users (mostly field staff taking
            site photos). Need Okta SAML + SCIM, audit logs, EU data residency. The sales deck
            says yes to everything; looking for real-world experience before we book a demo.
        """),
        entries=_pool("""
            new pos | ~300 seats here. SAML with Okta was painless. SCIM deprovisioning works
            but can take up to an hour.

            new neu | Audit logs exist but export is CSV only, no SIEM integration yet. Ask
            them about the API.

            new neg | The admin console is fine until you need granular sharing policies. Then
            it's a support ticket every time.

            op neu | {prev} useful, thanks. Did support turn those tickets around quickly?

            new neg | Their SCIM broke for us twice after Okta changes. Fixed quickly both
            times, but test it in staging.

            new neu | EU residency is real (Frankfurt), but you have to ask for it at contract
            time, you can't switch later.

            new neu | Get the per-seat pricing in writing. We got a much better quote by
            mentioning we were also trialing Dropbox Business.
        """),
        plan=Plan("chloe", "full"),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(19, 1, 15),
        span_minutes=480,
        cat="comparison",
        op="new",
        sub="photography",
        title="Cloud backup for RAW files in 2026: is Acme Cloud any good?",
        root=_one("""
            neu | Shooting ~40 GB of RAW per wedding. Currently on Dropbox but the previews for
            CR3 and NEF are awful. Acme Cloud claims proper RAW previews. Anyone using it for
            client work?
        """),
        entries=_pool("""
            new pos | Using it for a year. The RAW previews are the best I've seen outside
            Lightroom, and upload speed is solid.

            new neg | Pricing above 2 TB killed it for me. I have 9 TB of weddings.

            new neu | No RAW + JPEG pairing yet, so you get two tiles for every shot. Annoying
            but livable.

            new neu | There's no Lightroom Classic plugin, so it's a separate step in your
            workflow.

            op neu | {prev} that's the part I'm unsure about. Export-then-upload feels clunky.

            new pos | Client galleries with download links are great, my couples love them.

            new neg | Heads up: their Android app crashes on big uploads since 5.0, if you back
            up on the go.

            new neu | There's a 30-day trial, just throw a wedding at it and see.
        """),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(19, 19, 25),
        span_minutes=900,
        cat="billing",
        op="new",
        sub="AcmeCloud",
        title="Charged twice for the Black Friday Pro deal?",
        root=_one("""
            neg | Upgraded to Pro with the 40% off deal this afternoon and my bank shows two
            charges of $59.40. Support chat says "we're looking into it". Anyone else?
        """),
        entries=_pool("""
            new neg | Same, two charges. Also got two welcome emails lol.

            daniel_rd neg | Same on my card. Opened a ticket, nothing yet.

            new neg | Three charges for me 🙃 At this point I'm an investor.

            new neu | Acme staff in the Discord say a checkout bug duplicated some payments
            between 17:00 and 19:00 UTC. Refunds are being issued automatically.

            op neu | {prev} thanks, that's reassuring. Will update when mine comes back.

            new neu | Check whether one of them is "pending". Mine was just an authorization
            hold that dropped off the next day.

            new neg | Refunded "automatically" when? It's been 12 hours and nothing.

            new pos | My duplicate charge was refunded this morning, took about 14 hours.

            op pos +880 | Update: refund landed. Annoying, but at least they owned it.
        """),
        plan=Plan("ana", "full"),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(20, 11, 5),
        span_minutes=300,
        cat="comparison",
        op="new",
        sub="degoogle",
        title="Google Photos alternatives that aren't self-hosted? Acme Cloud?",
        root=_one("""
            neu | Not ready to run my own server. Acme Cloud keeps coming up. How is it on
            privacy compared to Google? Worth switching to?
        """),
        entries=_pool("""
            new neu | It's not E2EE, so privacy-wise it's "a company that isn't an ad company".
            Better than Google, not as good as Ente.

            new pos | Switched in the summer. No ads, search is great, exports work. Happy.

            new neg | Their terms let them analyze photos for "feature improvement". Read them
            before you switch.

            new neu | The family plan is decent value if you're replacing Google One for
            several people.

            new pos | Their export is honest: full-res originals with metadata. That matters if
            you ever want to leave again.

            new neu | Ente if privacy is the priority, Acme if you want the nicer app.
        """),
    ),
    ThreadScript(
        platform="mastodon",
        start=_t(19, 14, 5),
        span_minutes=100,
        cat="outage",
        op="new",
        root=_one("""
            neg | Is {brand} down for anyone else? Uploads fail with "server unavailable".
            #AcmeCloud #outage
        """),
        entries=_pool("""
            new neu | {op} same here, web app returns 503

            new neg de | {op} Hier auch. Seit 20 Minuten geht gar nichts.

            petra neu | {op} feel for their on-call team. Whatever it is, it's always DNS.

            new neu | {op} the status page finally admits it: "degraded performance on uploads"

            op neu +98 | Seems to be back. Uploads are going through again. #AcmeCloud
        """),
        plan=Plan("ben", "full"),
    ),
    ThreadScript(
        platform="reddit",
        start=_t(19, 13, 52),
        span_minutes=160,
        cat="outage",
        op="new",
        sub="AcmeCloud",
        title="Is Acme down? Uploads failing everywhere",
        root=_one("""
            neg | Phone and desktop both fail, web app says 503. Status page is green.
        """),
        entries=_pool("""
            new neu | Down for me too. Europe.

            new neu | US East, same.

            new neu | Downdetector is lighting up. Definitely not just us.

            new neg | The sync client turned all my local files into "cloud only" placeholders.
            Great timing.

            new neu | Their official account tweeted that they're investigating.

            new pos | Back up for me as of a minute ago.

            op neu | Looks resolved. Thanks everyone.
        """),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(18, 19, 30),
        span_minutes=150,
        cat="crash",
        op="mia",
        root=_one("""
            neg | {brand} 5.0 crashes every time I try to upload videos from my Pixel 10.
            Photos are fine, videos = instant crash 😤
        """),
        entries=_pool("""
            new neu | {op} same on my S26, thought it was my phone

            new neu | {op} {brand} +1, Pixel 9a here

            op neu +110 | {brand} sent logs to support, ticket's open. Fingers crossed for
            5.0.1
        """),
        plan=Plan("ben", "full"),
    ),
    ThreadScript(
        platform="mastodon",
        start=_t(18, 19, 40),
        span_minutes=120,
        cat="sync",
        op="hannah",
        root=_one("""
            neg de | {brand} Seit dem Update auf 5.0 hängt die Synchronisierung bei 97 %. Wir
            sind ein Designbüro mit 12 Lizenzen und können gerade keine Dateien teilen.
            #AcmeCloud
        """),
        entries=_pool("""
            new neu de | {op} Abmelden und wieder anmelden hat bei mir geholfen.

            op neu de | {prev} Danke, probiere ich gleich aus.
        """),
        plan=Plan("ana", "full", ack=True),
    ),
    ThreadScript(
        platform="bluesky",
        start=_t(19, 18, 40),
        span_minutes=90,
        cat="billing",
        op="new",
        root=_one("""
            neg | {brand} the early Black Friday deal charged me twice 🙃 anyone else?
        """),
        entries=_pool("""
            new neg | {op} yep, twice. Support says refunds are automatic

            new neg | {op} same, and my bank flagged it as fraud lol
        """),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(20, 13, 30),
        span_minutes=200,
        cat="billing",
        op="nadia",
        root=_one("""
            neg | Hearing from several readers that {brand} charged them twice for its early
            Black Friday deal. Acme, want to comment? DMs open.
        """),
        entries=_pool("""
            new neg | {op} happened to me, refunded after about 14 hours

            new neg | {op} {brand} still waiting on mine 😐

            new neu | {op} curious whether anyone got charged three times, I've seen
            screenshots

            op neu +190 | Acme tells me a checkout bug duplicated payments for about two hours
            on Nov 19; all affected customers are being refunded automatically within 48h.
        """),
        plan=Plan("ben", "claim_reply"),
    ),
    ThreadScript(
        platform="twitter",
        start=_t(18, 11, 55),
        span_minutes=120,
        cat="praise",
        op="new",
        root=_one("""
            pos | Dropped my phone in the Thames last night. New phone this morning and every
            photo is back thanks to {brand}. Never been happier to pay for software 🙌
        """),
        entries=_pool("""
            new pos | {op} this is the best ad they could ask for

            new neu | {op} which plan are you on?

            op neu | {prev} Pro, the 2 TB one

            new pos | {op} love a happy ending. Back up your phones, people!
        """),
        plan=Plan("ana", "full"),
    ),
]

# Standalone posts with a story: author key (or new:platform:lang) when category mood lang plan
# | text. The plan is staff/pattern[/ack], "-" leaves it to chance.
SOLOS = _records("""
    priya 18T13:20 enterprise neu en chloe/full/ack | {brand} looking at the Enterprise plan
    for our 40-person studio. Need SSO and admin controls. Who do I talk to about pricing?

    daniel 19T19:40 billing neg en ana/full/ack | {brand} I was charged twice ($59.40 x2) for
    the Black Friday upgrade. Please refund the duplicate. Account email in your DMs.

    daniel 20T08:50 billing neg en - | {brand} 13 hours later and the duplicate charge is still
    on my card. Any update?

    tom 19T20:30 trial neu en chloe/full/ack | Day 3 of the Acme Cloud Pro Team trial at our
    office. Upload speeds great, admin panel a bit basic. {brand} can we get the trial extended
    a week? Half the team was out.

    omar 20T09:05 demo neu en chloe/claim_reply | {brand} we'd like a demo of the team features
    for Fieldnote Media, 35 people, mostly video. Who should I talk to?

    grace 18T10:15 praise pos en ana/claim_resolve | Our whole team at Northwind moved to
    {brand} this year and shared folders finally just work. Nobody emails 2 GB zip files
    anymore 🙌

    grace 19T14:31 outage neg en - | {brand} our whole team is blocked on uploads right now.
    Please tell me there's an ETA.

    marcus 18T22:00 review neu en chloe/claim_reply | Moved my entire 14-year archive (11 TB of
    RAW) to {brand} Enterprise last month. Honest thoughts: uploads are fast, RAW previews are
    excellent, the desktop app needs work.

    marcus 20T12:40 feature neu en - | {brand} any ETA on RAW + JPEG pairing? Happy to beta
    test, it's the last thing on my list.

    tariq 19T14:22 outage neg en ben/full | {brand} down for anyone else? Trying to upload
    tonight's b-roll and it's just spinning 😩

    priyanka 20T10:15 praise pos en ana/full | Not sponsored: {brand}'s Smart Albums just found
    every photo of my dog since 2016 in two seconds. I'm emotional 🐶

    lena 18T15:40 review neu de ana/claim_reply | Acme Cloud 5.0 im Test: Die neuen Smart
    Albums sind beeindruckend, aber die Android-App stürzt beim Upload großer Videos ab.
    Ausführlicher Bericht folgt. {brand}

    lena 19T15:02 outage neg de - | Und heute ist Acme Cloud komplett down. Timing ist alles. 🙃

    backupnerd 17T21:00 comparison neu en - | Ran my yearly restore test on 500 GB: Backblaze
    6h, Acme Cloud 4h, pCloud 9h. Acme's restore UI is still confusing though. #backup {brand}

    petra 20T10:00 outage neu en - | Acme Cloud's incident note is out: a bad config push to
    their upload gateway. Not DNS. I owe DNS an apology. #sre #AcmeCloud

    kev 19T14:38 outage neu en - | The Acme Cloud outage is a good reminder: 3-2-1 backups,
    folks. One cloud is not a backup strategy. #backup #AcmeCloud

    olu 18T17:05 pricing neg en - | Acme Cloud cutting the free tier to 5 GB in the same
    release as a shiny AI feature is a choice. {brand}

    new:twitter:es 18T18:12 crash neg es ben/full/ack | ¿A alguien más se le cierra la app de
    {brand} al subir fotos? Desde la actualización es imposible 😤

    new:twitter:fr 19T09:44 sync neg fr - | Franchement {brand}, la synchro est bloquée à 97 %
    depuis ce matin... 😩

    new:bluesky:fr 18T20:25 switch_in pos fr - | Je viens de passer à Acme Cloud Pro après des
    années sur Google Photos. Pour l'instant, c'est top 👌

    new:mastodon:es 20T16:10 praise pos es - | Me encanta la función de álbumes inteligentes de
    Acme Cloud, por fin encuentro mis fotos de viaje 😍 #AcmeCloud
""")


# -- CRM ----------------------------------------------------------------------------------


def _contacts(block: str) -> dict[str, dict[str, Any]]:
    """One contact a line: id | name | email | social handles (comma-separated) | company."""
    contacts: dict[str, dict[str, Any]] = {}
    for line in block.strip().splitlines():
        contact_id, name, email, handles, company = (f.strip() for f in line.split(" | "))
        contacts[contact_id] = {
            "name": name,
            "email": email,
            "handles": [] if handles == "-" else handles.split(","),
            "company": None if company == "-" else company,
        }
    return contacts


CONTACTS = _contacts("""
    c-0712 | Rachel Owens | rowens@brightline.example | - | Brightline Clinics
    c-1140 | Susan Park | spark@harborusd.example | - | Harbor Unified School District
    c-1133 | Rachel Kowalski | rachel.kowalski@fastmail.example | raidz2_rachel | -
    c-0988 | Leo Martins | leo@pixelandpine.example | - | Pixel & Pine Agency
    c-1042 | Priya Shah | priya@lumenlabs.example | priyabuilds | Lumen Labs
    c-1057 | Marek Novak | m.novak@kestrel-logistics.example | marek_ops | Kestrel Logistics
    c-0931 | Hannah Becker | hb@beckerdesign.example | hbecker@chaos.social | Becker Design GmbH
    c-1001 | Mia Torres | mia.torres@gmail.example | mia_t | -
    c-0765 | Grace Liu | grace@northwind.example | graceliu | Northwind Studios
    c-0877 | Daniel Kim | daniel@kimphoto.example | danielk_photo | Kim Photography
    c-1101 | Tom Alvarez | tom@alvarez-arch.example | tomalvarez.bsky.social | Alvarez Architects
    c-1120 | Omar Haddad | omar@fieldnote.example | omarhaddad | Fieldnote Media
    c-1015 | Sofia Reyes | sofia.reyes@outlook.example | - | -
    c-0650 | Marcus Hale | studio@halephoto.example | marcushale | Hale Photography
    c-1152 | Ken Ito | ken@studioku.example | - | Studio Ku
""")

DEALS: dict[str, tuple[str, str]] = {  # object id -> (deal name, contact id)
    "deal-2954": ("Brightline Clinics: Enterprise 80 seats", "c-0712"),
    "deal-3099": ("Harbor USD: Enterprise district rollout", "c-1140"),
    "deal-3031": ("Pixel & Pine: Pro Team 25 seats", "c-0988"),
    "deal-3107": ("Lumen Labs: Enterprise 40 seats", "c-1042"),
    "deal-3112": ("Kestrel Logistics: Enterprise 220 seats", "c-1057"),
    "deal-2988": ("Northwind Studios: annual renewal", "c-0765"),
    "deal-3120": ("Fieldnote Media: Pro Team 35 seats", "c-1120"),
    "deal-3125": ("Studio Ku: Pro Team 8 seats", "c-1152"),
}
# HubSpot events: when kind object_id contact_id amount stage[<previous stage] | summary |
# properties ("-" for none).
CRM_SCRIPT = _records("""
    17T19:05 deal_stage_changed deal-2954 c-0712 28800 negotiation<proposal | Brightline moved
    to negotiation | dealtype=newbusiness

    17T22:15 lead_created c-1140 c-1140 - - | Website demo request: Harbor Unified School
    District | lifecyclestage=lead; hs_analytics_source=ORGANIC_SEARCH

    18T08:40 lead_created c-1133 c-1133 - - | Inbound lead from Reddit: 4 TB family archive,
    asked for pricing above 2 TB | lifecyclestage=lead; hs_analytics_source=SOCIAL_MEDIA

    18T09:50 deal_stage_changed deal-3099 c-1140 60000 qualification | New deal: Harbor USD
    district rollout | dealtype=newbusiness

    18T10:00 contact_updated c-0931 c-0931 - - | Mastodon handle added from a support chat |
    lifecyclestage=customer; plan=Pro Team

    18T11:30 deal_stage_changed deal-3031 c-0988 4500 proposal<qualification | Pixel & Pine
    proposal sent | dealtype=newbusiness

    18T14:55 lead_created c-1042 c-1042 - - | Lead from Twitter: Lumen Labs asking about
    Enterprise pricing | lifecyclestage=lead; hs_analytics_source=SOCIAL_MEDIA

    18T15:30 lead_created c-1057 c-1057 - - | Demo request via website: Kestrel Logistics, 220
    seats | lifecyclestage=lead; hs_analytics_source=DIRECT_TRAFFIC

    18T16:10 deal_stage_changed deal-2954 c-0712 28800 closed_lost<negotiation | Brightline
    lost: chose Dropbox Business | closed_lost_reason=Competitor: Dropbox Business

    18T16:40 deal_stage_changed deal-2988 c-0765 24000 negotiation<proposal | Northwind renewal
    moved to negotiation | dealtype=renewal

    18T17:45 deal_stage_changed deal-3107 c-1042 14400 qualification | New deal: Lumen Labs
    Enterprise | dealtype=newbusiness

    18T17:50 contact_updated c-1042 c-1042 - - | Priya Shah is now an opportunity |
    lifecyclestage=opportunity

    18T20:05 ticket_created ticket-8850 c-0931 - - | Sync stuck at 97% after 5.0 (12-seat team)
    | hs_ticket_priority=HIGH; hs_pipeline_stage=new

    18T21:20 ticket_created ticket-8863 c-1001 - - | Android 5.0 crashes on video upload |
    hs_ticket_priority=MEDIUM; hs_pipeline_stage=new

    19T09:15 deal_stage_changed deal-3031 c-0988 4500 closed_won<proposal | Pixel & Pine
    signed! | dealtype=newbusiness

    19T10:30 deal_stage_changed deal-3112 c-1057 52800 qualification | New deal: Kestrel
    Logistics Enterprise | dealtype=newbusiness

    19T11:00 contact_updated c-1057 c-1057 - - | Marek Novak is now an opportunity |
    lifecyclestage=opportunity

    19T12:20 deal_stage_changed deal-3107 c-1042 14400 proposal<qualification | Lumen Labs
    moved to proposal | dealtype=newbusiness

    19T14:35 ticket_created ticket-8870 c-0765 - - | Northwind Studios: whole team can't upload
    | hs_ticket_priority=URGENT; hs_pipeline_stage=new

    19T19:55 ticket_created ticket-8877 c-0877 - - | Double charge on Black Friday upgrade |
    hs_ticket_priority=HIGH; hs_pipeline_stage=new

    19T21:10 lead_created c-1101 c-1101 - - | Trial signup: Pro Team (Alvarez Architects) |
    lifecyclestage=lead; hs_analytics_source=TRIAL

    20T08:30 deal_stage_changed deal-3112 c-1057 52800 proposal<qualification | Kestrel
    Logistics moved to proposal | dealtype=newbusiness

    20T09:10 deal_stage_changed deal-3099 c-1140 60000 proposal<qualification | Harbor USD
    moved to proposal | dealtype=newbusiness

    20T09:45 lead_created c-1120 c-1120 - - | Demo request: Fieldnote Media (35 seats) |
    lifecyclestage=lead; hs_analytics_source=SOCIAL_MEDIA

    20T10:40 ticket_created ticket-8882 c-1015 - - | Login loop on iPad after password reset |
    hs_ticket_priority=MEDIUM; hs_pipeline_stage=new

    20T11:30 deal_stage_changed deal-3120 c-1120 8400 qualification | New deal: Fieldnote Media
    Pro Team | dealtype=newbusiness

    20T12:15 deal_stage_changed deal-3107 c-1042 13200 negotiation<proposal | Lumen Labs moved
    to negotiation | dealtype=newbusiness

    20T13:05 ticket_created ticket-8889 c-0650 - - | Outage credit request (Enterprise) |
    hs_ticket_priority=MEDIUM; hs_pipeline_stage=new

    20T14:20 contact_updated c-1101 c-1101 - - | Trial converted: Pro Team, 8 seats |
    lifecyclestage=customer; plan=Pro Team

    20T15:00 deal_stage_changed deal-3125 c-1152 2400 qualification | New deal: Studio Ku Pro
    Team | dealtype=newbusiness

    20T16:20 deal_stage_changed deal-2988 c-0765 24000 closed_won<negotiation | Northwind
    renewal signed | dealtype=renewal

    20T16:45 deal_stage_changed deal-3125 c-1152 2400 closed_won<qualification | Studio Ku
    signed same day | dealtype=newbusiness

    20T17:10 deal_stage_changed deal-3112 c-1057 49500 negotiation<proposal | Kestrel Logistics
    moved to negotiation | dealtype=newbusiness
""")

CRM_PLANS: dict[str, Plan] = {
    "c-1133": Plan("chloe", "full"),
    "c-1042": Plan("chloe", "full"),
    "c-1057": Plan("chloe", "full"),
    "deal-3107": Plan("chloe", "claim_reply"),
    "deal-2954": Plan("chloe", "claim_resolve"),
    "ticket-8877": Plan("ana", "full"),
    "ticket-8850": Plan("ana", "full"),
}

# -- model --------------------------------------------------------------------------------


@dataclass(eq=False)
class Mention:
    author: Author
    text: str
    at: datetime
    cat: str
    mood: str
    ident: str
    url: str
    lang: str = "en"
    thread_id: str | None = None
    plan: Plan | None = None
    pinned: bool = False  # answers a teammate's reply: must stay after it

    @property
    def platform(self) -> str:
        return self.author.platform

    @property
    def source(self) -> str:
        return SOURCE[self.platform]

    @property
    def key(self) -> str:
        """The bot's conversation key (see ``handlers.events.Mention.thread_key``)."""
        if self.thread_id:
            return f"{self.platform}:thread:{self.thread_id}"
        return f"{self.platform}:author:{self.author.handle.lower()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "mention",
            "source": self.source,
            "id": self.ident,
            "platform": self.platform,
            "author": self.author.to_json(),
            "text": self.text,
            "url": self.url,
            "thread_id": self.thread_id,
            "lang": self.lang,
            "posted_at": _iso(self.at),
        }


@dataclass(eq=False)
class Crm:
    ident: str
    kind: str
    object_id: str
    at: datetime
    summary: str
    contact_id: str
    deal: dict[str, Any] | None
    properties: dict[str, Any]
    plan: Plan | None = None
    pinned: bool = False

    source = "hubspot"

    @property
    def key(self) -> str:
        return f"crm:hubspot:{self.object_id}"

    @property
    def cat(self) -> str:
        if self.object_id.startswith("deal-"):
            return "deal"
        if self.object_id.startswith("ticket-"):
            return "ticket"
        return "lead"

    def to_json(self) -> dict[str, Any]:
        known = CONTACTS[self.contact_id]
        contact: dict[str, Any] = {"id": self.contact_id, "name": known["name"]}
        contact["email"] = known["email"]
        contact["handles"] = known["handles"]
        if known["company"]:
            contact["company"] = known["company"]
        data: dict[str, Any] = {
            "type": "crm",
            "source": self.source,
            "id": self.ident,
            "kind": self.kind,
            "object_id": self.object_id,
            "occurred_at": _iso(self.at),
            "summary": self.summary,
            "contact": contact,
        }
        if self.deal is not None:
            data["deal"] = self.deal
        data["properties"] = self.properties
        return data


Event = Mention | Crm


@dataclass(eq=False)
class Action:
    at: datetime
    staff: str
    action: str
    ref: Event
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "action",
            "at": _iso(self.at),
            "staff": self.staff,
            "action": self.action,
            "ref": {"source": self.ref.source, "id": self.ref.ident},
        }
        if self.text:
            data["text"] = self.text
        return data


Line = Mention | Crm | Action


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(value: float) -> timedelta:
    return timedelta(seconds=round(value * 60))


# -- builder ------------------------------------------------------------------------------


@dataclass
class Builder:
    rng: random.Random
    mentions: list[Mention] = field(default_factory=list)
    crm: list[Crm] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    authors: dict[tuple[str, str], Author] = field(default_factory=dict)
    known: dict[str, Author] = field(default_factory=dict)
    texts: set[str] = field(default_factory=set)
    decks: dict[str, list[str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)

    # ---- authors ----

    def __post_init__(self) -> None:
        for key, (platform, handle, name, followers, greet) in PERSONAS.items():
            self.known[key] = self._register(Author(platform, handle, name, followers, None, greet))
        for key, (platform, handle, name, followers, email) in CONTACT_AUTHORS.items():
            self.known[key] = self._register(Author(platform, handle, name, followers, email))

    def _register(self, author: Author) -> Author:
        key = (author.platform, author.handle.lower())
        assert key not in self.authors, key
        self.authors[key] = author
        return author

    def new_author(self, platform: str, lang: str = "en") -> Author:
        rng = self.rng
        while True:
            first = rng.choice(FIRST_NAMES[lang])
            last = rng.choice(LAST_NAMES[lang])
            name = f"{first} {last}"
            plain = _ascii(first).lower(), _ascii(last).lower()
            if platform == "twitter":
                handle = rng.choice(
                    [
                        f"{plain[0]}{plain[1]}",
                        f"{plain[0]}_{plain[1]}",
                        f"{plain[0]}{plain[1][0]}{rng.randint(2, 99)}",
                        f"{plain[0]}_{rng.choice(HANDLE_SUFFIXES)}",
                    ]
                )[:15]
            elif platform == "mastodon":
                user = rng.choice([plain[0], f"{plain[0]}{plain[1][0]}", f"{plain[0]}_{plain[1]}"])
                handle = f"{user}@{rng.choice(MASTODON_INSTANCES)}"
            elif platform == "bluesky":
                handle = rng.choice(
                    [f"{plain[0]}{plain[1]}.bsky.social", f"{plain[0]}-{plain[1]}.bsky.social"]
                )
            elif platform == "reddit":
                adjective, noun = rng.choice(REDDIT_WORDS[0]), rng.choice(REDDIT_WORDS[1])
                handle = rng.choice(
                    [
                        f"{adjective}_{noun}_{rng.randint(10, 9999)}",
                        f"{adjective}{noun}{rng.randint(1, 99)}",
                        f"{plain[0]}_{rng.choice(['shoots', 'hoards', 'fixes', 'ops'])}",
                    ]
                )
                name = handle
            else:  # trustpilot reviewers have names, not handles
                handle = f"{plain[0]}-{plain[1]}-{rng.randint(100, 999)}"
                name = f"{first} {last[0]}."
            if (platform, handle.lower()) in self.authors:
                continue
            return self._register(Author(platform, handle, name, self._followers(platform)))

    def _followers(self, platform: str) -> int:
        if platform == "rss":
            return 0
        if self.rng.random() < 0.06:
            return self.rng.randint(5_000, 22_000)
        return int(10 ** self.rng.uniform(1.0, 3.7))

    def author(self, spec: str, platform: str, lang: str) -> Author:
        if spec == "new":
            return self.new_author(platform, lang)
        author = self.known[spec]
        assert author.platform == platform, (spec, platform)
        return author

    # ---- text ----

    def draw(self, deck: str, pool: list[str]) -> str:
        """Templates come out of a shuffled deck, so none repeats until all were used."""
        cards = self.decks.get(deck)
        if not cards:
            cards = list(pool)
            self.rng.shuffle(cards)
            self.decks[deck] = cards
        return cards.pop()

    def fill(self, template: str, platform: str, **extra: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return extra[name]
            if name == "brand":
                return BRAND[platform]
            return self.rng.choice(SLOTS[name])

        return re.sub(r"\{(\w+)\}", value, template)

    def decorate(self, text: str, platform: str, cat: str) -> str:
        """Platform habits: hashtags on Mastodon, now and then on Twitter."""
        tags = {
            "crash": ["#AcmeCloud", "#android", "#iOS", "#bug"],
            "sync": ["#AcmeCloud", "#sync", "#fail"],
            "praise": ["#AcmeCloud", "#backup", "#photography"],
            "feature": ["#AcmeCloud", "#featurerequest"],
            "outage": ["#AcmeCloud", "#outage"],
        }.get(cat, ["#AcmeCloud"])
        chance = {"mastodon": 0.7, "twitter": 0.2, "bluesky": 0.05}.get(platform, 0.0)
        if "#" not in text and self.rng.random() < chance:
            text = f"{text} {' '.join(self.rng.sample(tags, k=min(2, len(tags))))}"
        return text

    # ---- mentions ----

    def mention(
        self,
        author: Author,
        text: str,
        at: datetime,
        cat: str,
        mood: str,
        lang: str = "en",
        thread: dict[str, Any] | None = None,
        root: bool = False,
        plan: Plan | None = None,
        pinned: bool = False,
    ) -> Mention:
        """A post with platform-shaped id, url and thread id."""
        assert text not in self.texts, text
        self.texts.add(text)
        platform = author.platform
        thread_id: str | None = None
        if platform == "twitter":
            native = str(_snowflake(at, self.rng))
            ident, url = f"tw-{native}", f"https://twitter.com/{author.handle}/status/{native}"
        elif platform == "mastodon":
            native = str((int(at.timestamp() * 1000) << 16) | self.rng.getrandbits(16))
            user, instance = author.handle.split("@")
            ident, url = f"md-{native}", f"https://{instance}/@{user}/{native}"
        elif platform == "bluesky":
            native = _tid(at, self.rng)
            ident = f"bs-{native}"
            url = f"https://bsky.app/profile/{author.handle}/post/{native}"
        elif platform == "reddit":
            assert thread is not None
            if root:
                native = thread["native"]
                ident = f"rd-t3_{native}"
                url = thread["url"]
            else:
                native = "o" + _base36(self.rng, 6)
                ident = f"rd-t1_{native}"
                url = f"{thread['base']}comment/{native}/"
        else:
            native = f"{int(at.timestamp()):08x}{self.rng.getrandbits(64):016x}"
            ident, url = f"tp-{native}", f"https://www.trustpilot.com/reviews/{native}"
        if thread is not None:
            if root and platform != "reddit":
                thread["native"] = native
            thread_id = thread.get("native", native)
        assert ident not in self.ids
        self.ids.add(ident)
        item = Mention(author, text, at, cat, mood, ident, url, lang, thread_id, plan, pinned)
        self.mentions.append(item)
        return item

    def build_threads(self) -> None:
        for script in THREADS:
            self.build_thread(script)

    def build_thread(self, s: ThreadScript) -> None:
        rng = self.rng
        thread: dict[str, Any] = {}
        if s.platform == "reddit":
            native = "1p" + _base36(rng, 5)
            slug = re.sub(r"[^a-z0-9]+", "_", s.title.lower() if s.title else "").strip("_")[:48]
            base = f"https://www.reddit.com/r/{s.sub}/comments/{native}/"
            thread.update(native=native, url=f"{base}{slug}/", base=base)
        op: Author | None = None
        first: Mention | None = None
        if s.op == "brand":  # replies to Acme's own status post: the thread id is that post's
            thread["native"] = str(_snowflake(s.start - _minutes(3), rng))
        else:
            head, text = s.root.split(" | ", 1)
            mood, *rest = head.split()
            lang = rest[0] if rest else "en"
            op = self.author(s.op, s.platform, lang)
            if s.platform == "reddit":
                text = f"{s.title}\n\n{text}"
            text = self.fill(text, s.platform)
            first = self.mention(
                op, text, s.start, s.cat, mood, lang, thread, root=True, plan=s.plan
            )
        at = s.start
        gap = s.span_minutes / (len(s.entries) + 1)
        previous = op
        for entry in s.entries:
            head, text = entry.split(" | ", 1)
            who, mood, *rest = head.split()
            lang = next((r for r in rest if not r.startswith("+")), "en")
            pin = next((r for r in rest if r.startswith("+")), None)
            if pin is not None:
                at = max(at, s.start + _minutes(float(pin[1:])))
            else:
                at = at + _minutes(min(max(1.0, rng.expovariate(1 / gap)), 3 * gap))
            if at > END - timedelta(minutes=2):
                break
            author = op if who == "op" else self.author(who, s.platform, lang)
            assert author is not None
            extra = {"op": op.at if op else "", "prev": previous.at if previous else ""}
            text = self.fill(text, s.platform, **extra).strip()
            plan = s.plan if first is None else None
            item = self.mention(author, text, at, s.cat, mood, lang, thread, plan=plan)
            first = first or item
            previous = author

    def build_solos(self) -> None:
        for (key, when, cat, mood, lang, plan), (template,) in SOLOS:
            if key.startswith("new:"):
                _, platform, _ = key.split(":")
                author = self.new_author(platform, lang)
            else:
                author = self.known[key]
            text = self.fill(template, author.platform)
            at = _when(when) + timedelta(seconds=self.rng.randint(0, 59))
            self.mention(author, text, at, cat, mood, lang, plan=_plan(plan))

    def build_background(self) -> None:
        rng = self.rng
        moods = {
            "praise": "pos",
            "switch_in": "pos",
            "feature": "neu",
            "pricing": "neu",
            "trial": "neu",
            "comparison": "neu",
            "question": "neu",
        }
        posts: list[Mention] = []
        for cat, count, (lo, hi) in BACKGROUND_PLAN:
            for _ in range(count):
                platform = rng.choices(["twitter", "mastodon", "bluesky"], [55, 20, 25])[0]
                author = self.new_author(platform)
                text = self._background_text(cat, platform)
                at = self.random_time(lo, hi - timedelta(minutes=20))
                posts.append(self.mention(author, text, at, cat, moods.get(cat, "neg")))
        # A few authors come back to their own post later (same conversation, no thread id).
        for post in rng.sample(posts, k=4):
            pool = FOLLOW_UPS.get(post.cat)
            if not pool:
                continue
            later = post.at + _minutes(rng.uniform(40, 300))
            if later > END - timedelta(minutes=10):
                continue
            template = self.draw(f"follow:{post.cat}", pool)
            text = self.fill(template, post.platform)
            if text in self.texts:
                continue
            self.mention(post.author, text, later, post.cat, post.mood)

    def _background_text(self, cat: str, platform: str) -> str:
        """A new text for a standalone post (the same template with other slot values)."""
        for _ in range(50):
            template = self.draw(f"bg:{cat}", BACKGROUND[cat])
            text = self.decorate(self.fill(template, platform), platform, cat)
            if text not in self.texts and len(text) <= 280:
                return text
        raise RuntimeError(f"no new text left for {cat!r}")

    def build_trustpilot(self) -> None:
        for (cat, mood, lang), (text,) in TRUSTPILOT:
            lo = PROMO if cat == "billing" else RELEASE if cat == "crash" else START
            at = self.random_time(lo, END - timedelta(minutes=30))
            self.mention(self.new_author("rss", lang), text, at, cat, mood, lang)

    def random_time(self, lo: datetime, hi: datetime) -> datetime:
        span = (hi - lo).total_seconds()
        while True:
            at = lo + timedelta(seconds=int(self.rng.uniform(0, span)))
            if self.rng.random() < HOUR_WEIGHT[at.hour] / max(HOUR_WEIGHT):
                return at

    # ---- CRM ----

    def build_crm(self) -> None:
        for (when, kind, object_id, contact, amount, stages), (summary, props) in CRM_SCRIPT:
            deal: dict[str, Any] | None = None
            if object_id.startswith("deal-"):
                stage, *previous = stages.split("<")
                deal = {"name": DEALS[object_id][0], "amount": int(amount), "stage": stage}
                if previous:
                    deal["previous_stage"] = previous[0]
            properties = dict(pair.split("=", 1) for pair in props.split("; "))
            at = _when(when) + timedelta(seconds=self.rng.randint(0, 59))
            item = Crm("", kind, object_id, at, summary, contact, deal, properties)
            self.crm.append(item)
        self.crm.sort(key=lambda c: c.at)
        for number, item in enumerate(self.crm, start=1001):
            item.ident = f"hs-evt-{number}"
        seen: set[str] = set()
        for item in self.crm:
            if item.object_id not in seen:
                seen.add(item.object_id)
                item.plan = CRM_PLANS.get(item.object_id)

    # ---- teammates ----

    def conversations(self) -> dict[str, list[Event]]:
        """Events grouped the way the bot threads them, in time order."""
        events: list[Event] = sorted([*self.mentions, *self.crm], key=lambda e: e.at)
        groups: dict[str, list[Event]] = {}
        for event in events:
            groups.setdefault(event.key, []).append(event)
        return groups

    def build_actions(self) -> None:
        rng = self.rng
        groups = self.conversations()
        keys = list(groups)
        forced = {k for k in keys if groups[k][0].plan is not None}
        untouched_target = round(UNTOUCHED_SHARE * len(keys))
        untouched = {k for k in forced if groups[k][0].plan == Plan(None, "none")}
        # Fresh conversations are still waiting; older ones were mostly worked on.
        fresh = [k for k in keys if groups[k][0].at > END - timedelta(minutes=80)]
        untouched.update(k for k in fresh if k not in forced)
        others = [k for k in keys if k not in forced and k not in untouched]
        weights = [1 + 3 * _age_share(groups[k][0].at) for k in others]
        while len(untouched) < untouched_target and others:
            pick = rng.choices(range(len(others)), weights)[0]
            untouched.add(others.pop(pick))
            weights.pop(pick)
        plans: dict[str, Plan] = {}
        for key in keys:
            if key in untouched:
                continue
            first = groups[key][0]
            plans[key] = first.plan or self._random_plan(first)
        self._fit_budget(plans, groups)
        for key, plan in plans.items():
            self._work(groups[key], plan)
        for key in sorted(untouched, key=keys.index):
            self._nudge(groups[key])

    def _random_plan(self, first: Event) -> Plan:
        rng = self.rng
        team = _team(first)
        if team == "sales":
            staff = "chloe"
        elif team == "social":
            staff = rng.choices(["ana", "ben", "chloe"], [45, 40, 15])[0]
        else:
            staff = rng.choice(["ana", "ben"])
        if isinstance(first, Crm):
            pattern = rng.choices(["full", "claim_reply", "claim"], [50, 25, 25])[0]
            return Plan(staff, pattern)
        if first.cat == "praise":
            pattern = rng.choices(["full", "claim_resolve"], [55, 45])[0]
        else:
            pattern = rng.choices(
                ["full", "claim_resolve", "claim_reply", "claim"], [52, 14, 16, 18]
            )[0]
        chatty = first.platform != "rss"  # review sites have no replies
        ack = chatty and pattern == "full" and first.mood != "pos" and rng.random() < 0.2
        return Plan(staff, pattern, ack)

    def _fit_budget(self, plans: dict[str, Plan], groups: dict[str, list[Event]]) -> None:
        cost = {"full": 3, "claim_reply": 2, "claim_resolve": 2, "claim": 1, "none": 0}
        lo, hi = ACTION_BUDGET
        keys = [k for k in plans if groups[k][0].plan is None]
        self.rng.shuffle(keys)
        # Dropping a step alternates between the reply and the resolve, so both stay common.
        downgrades = (
            {"full": "claim_resolve", "claim_reply": "claim", "claim_resolve": "claim"},
            {"full": "claim_reply", "claim_reply": "claim", "claim_resolve": "claim"},
        )
        upgrade = {"claim": "claim_reply", "claim_reply": "full", "claim_resolve": "full"}

        def total() -> int:
            return sum(cost[p.pattern] for p in plans.values())

        for _ in range(2):  # each pass moves every plan one step at most
            for number, key in enumerate(keys):
                plan, table = plans[key], downgrades[number % 2]
                if total() <= hi:
                    break
                if plan.pattern in table:
                    plans[key] = Plan(plan.staff, table[plan.pattern], plan.ack)
        for _ in range(2):
            for key in keys:
                plan = plans[key]
                if total() >= lo:
                    break
                if plan.pattern in upgrade:
                    plans[key] = Plan(plan.staff, upgrade[plan.pattern], plan.ack)

    def _work(self, events: list[Event], plan: Plan) -> None:
        """Claim, reply and resolve one conversation, keeping every gap in its range."""
        rng = self.rng
        if plan.pattern == "none" or plan.staff is None:
            return
        first = events[0]
        late_night = first.at.hour < 6
        claim_at = first.at + _minutes(rng.uniform(20 if late_night else 2, 85))
        if claim_at > END:
            return
        self.actions.append(Action(claim_at, plan.staff, "claim", first))
        last_done = claim_at
        if plan.pattern in ("full", "claim_reply"):
            reply_at = claim_at + _minutes(min(rng.expovariate(1 / 25), 118) + 1)
            if reply_at > END:
                return
            self.actions.append(
                Action(reply_at, plan.staff, "reply", first, self._reply_text(first, reply_at))
            )
            last_done = reply_at
            if plan.ack and isinstance(first, Mention):
                ack = self._ack(first, reply_at)
                if ack is not None:
                    events = [*events, ack]
        if plan.pattern in ("full", "claim_resolve"):
            last_event = max(e.at for e in events)
            earliest = max(last_done + timedelta(minutes=10), last_event + timedelta(minutes=5))
            resolve_at = earliest + _minutes(rng.expovariate(1 / 150))
            if resolve_at - last_done <= timedelta(hours=20) and resolve_at <= END:
                self.actions.append(Action(resolve_at, plan.staff, "resolve", first))

    def _reply_text(self, first: Event, at: datetime) -> str:
        if isinstance(first, Crm):
            if first.object_id in SCRIPTED_REPLIES:
                return SCRIPTED_REPLIES[first.object_id]
            cat = first.cat
            stage = (first.deal or {}).get("stage")
            if f"deal:{stage}" in REPLIES:
                cat = f"deal:{stage}"
            return self.draw(f"reply:{cat}", REPLIES[cat])
        scripted = SCRIPTED_REPLIES.get(first.author.handle)
        if scripted is not None:
            return scripted
        cat = first.cat
        if cat == "outage" and at > OUTAGE[1]:
            cat = "outage:fixed"
        if first.lang in ("es", "de", "fr"):
            cat = f"{first.lang}:{'neg' if first.mood == 'neg' else 'pos'}"
        template = self.draw(f"reply:{cat}", REPLIES.get(cat, REPLIES["praise"]))
        return template.format(first=first.author.first)

    def _ack(self, first: Mention, reply_at: datetime) -> Mention | None:
        at = reply_at + _minutes(self.rng.uniform(4, 90))
        if at > END - timedelta(minutes=5):
            return None
        if first.lang in ("es", "de", "fr"):
            decks = [first.lang]
        elif first.platform == "reddit":
            decks = ["reddit"]
        else:
            decks = [first.cat, _team(first)] if first.cat in ACKS else [_team(first)]
        for deck in (d for d in decks for _ in range(4)):
            text = self.fill(self.draw(f"ack:{deck}", ACKS[deck]), first.platform)
            if text not in self.texts:
                thread = {"native": first.thread_id} if first.thread_id else None
                if first.platform == "reddit":
                    assert first.thread_id is not None
                    sub = first.url.split("/r/")[1].split("/")[0]
                    base = f"https://www.reddit.com/r/{sub}/comments/{first.thread_id}/"
                    thread = {"native": first.thread_id, "base": base}
                mood = "pos" if deck != "reddit" else "neu"
                return self.mention(
                    first.author, text, at, first.cat, mood, first.lang, thread, pinned=True
                )
        return None

    def _nudge(self, events: list[Event]) -> None:
        first = events[0]
        if not isinstance(first, Mention) or first.mood != "neg" or len(events) > 1:
            return
        if first.cat not in ("crash", "sync", "billing", "slow", "outage"):
            return
        if first.platform not in ("twitter", "mastodon", "bluesky") or first.lang != "en":
            return
        if self.rng.random() > 0.3:
            return
        at = first.at + _minutes(self.rng.uniform(90, 300))
        if at > END - timedelta(minutes=5):
            return
        text = self.fill(self.draw("nudge", NUDGES), first.platform)
        if text not in self.texts:
            self.mention(first.author, text, at, first.cat, "neg", thread=None)

    # ---- output ----

    def lines(self) -> list[tuple[datetime, int, Line]]:
        """All lines in time order, with a dozen webhook retries a few lines after the original.

        A retried mention keeps its original time, so the lines between the original and its
        copy are moved to that same second (only lines that nothing else depends on).
        """
        items: list[Line] = [*self.mentions, *self.crm, *self.actions]
        items.sort(key=lambda i: i.at)
        starts = {id(g[0]) for g in self.conversations().values()}
        movable = [isinstance(i, Mention) and not i.pinned and id(i) not in starts for i in items]
        order: list[tuple[datetime, float, Line]] = [
            (i.at, float(n), i) for n, i in enumerate(items)
        ]
        candidates = [n for n, i in enumerate(items) if isinstance(i, Mention)]
        self.rng.shuffle(candidates)
        used: set[int] = set()
        made = 0
        for n in candidates:
            if made == DUPLICATES:
                break
            span = self.rng.choice([1, 2, 2, 3])
            block = range(n + 1, n + 1 + span)
            if n in used or block.stop > len(items) or any(m in used for m in block):
                continue
            base = items[n].at
            if not all(movable[m] and items[m].at - base <= timedelta(minutes=8) for m in block):
                continue
            for m in block:
                order[m] = (base, order[m][1], items[m])
                items[m].at = base
            order.append((base, block.stop - 0.5, items[n]))
            used.update([n, *block])
            made += 1
        assert made == DUPLICATES, made
        order.sort(key=lambda x: (x[0], x[1]))
        return [(at, n, item) for n, (at, _, item) in enumerate(order)]

    def write(self, path: Path) -> list[tuple[datetime, int, Line]]:
        """Write the stream (call once: it places the retried deliveries)."""
        lines = self.lines()
        rows = [json.dumps(item.to_json(), ensure_ascii=False) for _, _, item in lines]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return lines


# -- helpers ------------------------------------------------------------------------------


def _team(event: Event) -> str:
    if isinstance(event, Crm):
        return "support" if event.cat == "ticket" else "sales"
    if event.cat in SUPPORT_CATS:
        return "support"
    if event.cat in SALES_CATS:
        return "sales"
    return "social"


def _age_share(at: datetime) -> float:
    """0 at the start of the stream, 1 at its end."""
    return (at - START).total_seconds() / (END - START).total_seconds()


def _snowflake(at: datetime, rng: random.Random) -> int:
    """A Twitter-style id: milliseconds since the Twitter epoch, then 22 random bits."""
    return ((int(at.timestamp() * 1000) - 1_288_834_974_657) << 22) | rng.getrandbits(22)


def _tid(at: datetime, rng: random.Random) -> str:
    """A Bluesky record key (TID): microseconds and a clock id in sortable base32."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (int(at.timestamp()) * 1_000_000 + rng.randrange(1_000_000)) << 10
    value |= rng.getrandbits(10)
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _base36(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(length))


def _ascii(word: str) -> str:
    table = str.maketrans("áéíóúñüöäÉèêçà", "aeiounuoaEeeca")
    return word.translate(table)


def build(seed: int = SEED) -> Builder:
    builder = Builder(random.Random(seed))
    builder.build_crm()
    builder.build_threads()
    builder.build_solos()
    builder.build_background()
    builder.build_trustpilot()
    builder.build_actions()
    return builder


def summary(lines: Iterable[tuple[datetime, int, Line]]) -> str:
    counts: dict[str, int] = {}
    for _, _, item in lines:
        kind = type(item).__name__.lower()
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind} lines" for kind, n in sorted(counts.items()))


def main() -> None:
    builder = build()
    lines = builder.write(OUT)
    print(f"wrote {len(lines)} lines to {OUT} ({summary(lines)})")


if __name__ == "__main__":
    main()
