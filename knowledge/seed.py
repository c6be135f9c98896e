"""Demo data of the knowledge app, for `manage.py seed_demo`: per company, a manual "Product
handbook" collection filled through the ingest service (chunked and embedded with the
collection's model, offline all-MiniLM-L6-v2 by default, so vector and keyword search work),
a support agent answering from it, a writer agent, and three conversations with messages:
one ended and one active (a customer's questions and the agent's answers, each answer
citing the chunks a real search of the handbook returns), and one whose answer went
through the chat service, so without an LLM provider it shows the failed answer the
product stores then.

Idempotent: the collection and agents are found by name, handbook pages by source id (an
unchanged page is not embedded again), conversations by their demo contact id.
"""

from __future__ import annotations

from django.utils import timezone

from tenants.models import User
from tenants.roles import Role

from .models import Agent, Citation, Conversation, KnowledgeCollection, Message, MessageMetadata, SourceType
from .models.conversations import ConversationMetadata
from .services import chat, conversations, ingest, retrieval

COLLECTION = "Product handbook"
HANDBOOK = [
    (
        "kettle-care",
        "Kettle care and descaling",
        "Descale the kettle once a month in hard-water areas. Fill it halfway with equal parts water and white "
        "vinegar, bring it to the boil, leave it for an hour, then rinse it three times with clean water. Never "
        "immerse the kettle base in water.",
    ),
    (
        "lantern-battery",
        "Lantern battery life",
        "The lantern runs for 40 hours on its low setting and 8 hours on high. Charge it through the USB-C port "
        "on the base; a full charge takes about three hours. The indicator turns green when it is full.",
    ),
    (
        "headphones-pairing",
        "Pairing the headphones",
        "Hold the power button for five seconds until the light flashes blue, then choose the headphones in your "
        "phone's Bluetooth settings. They remember eight devices. To reset them, hold power and volume down for "
        "ten seconds.",
    ),
    (
        "returns",
        "Returns and refunds",
        "Unused products can be returned within 30 days of delivery for a full refund. Start a return from your "
        "order page; we email a prepaid label. Refunds reach the original payment method within five working days "
        "of the parcel arriving at our warehouse.",
    ),
    (
        "shipping",
        "Shipping times",
        "Orders placed before 2 pm ship the same working day. Standard delivery takes two to four working days; "
        "express delivery arrives the next working day. Every parcel has a tracking link in the dispatch email.",
    ),
    (
        "warranty",
        "Warranty",
        "Every product carries a two-year warranty against manufacturing defects. The warranty does not cover "
        "accidental damage or normal wear. Claims need the order number and a photo of the fault.",
    ),
]
AGENTS = [
    (
        "Support assistant",
        "Answers customer questions from the product handbook.",
        "You are the customer support assistant. Answer briefly and politely, from the handbook.",
        True,
    ),
    ("Content writer", "Drafts articles and product copy.", "You write clear, friendly articles for our blog.", False),
]
# (contact id, channel, ended?, [(question, answer)]; answer None: asked through the chat service)
CONVERSATIONS = [
    (
        "demo-contact-1",
        "chat",
        True,
        [
            (
                "How do I descale my kettle?",
                "Fill it halfway with equal parts water and white vinegar, boil it, leave it for an hour, then rinse it "
                "three times. Once a month is enough in hard-water areas.",
            ),
            (
                "And how long do refunds take if I return it?",
                "Refunds reach your original payment method within five working days of the parcel arriving at our "
                "warehouse.",
            ),
        ],
    ),
    (
        "demo-contact-2",
        "email",
        False,
        [
            (
                "My new headphones will not pair with my phone.",
                "Hold the power button for five seconds until the light flashes blue, then pick them in your phone's "
                "Bluetooth settings. If that fails, reset them by holding power and volume down for ten seconds.",
            ),
        ],
    ),
    ("demo-contact-3", "chat", False, [("How long does the lantern battery last?", None)]),
]


def _collection(company, owner) -> KnowledgeCollection:
    collection = KnowledgeCollection.objects.for_company(company).filter(name=COLLECTION).first()
    return collection or KnowledgeCollection.objects.create(
        company=company,
        name=COLLECTION,
        user=owner,
        source_type=SourceType.MANUAL,
        description="Demo handbook created by seed_demo: care, returns, shipping and warranty pages.",
    )


def _fill(collection) -> ingest.IngestResult:
    """The handbook's pages through the ingest service; unchanged pages are left alone."""
    items = [ingest.text_item(title=title, text=text, source_id=f"manual:{slug}") for slug, title, text in HANDBOOK]
    result = ingest.ingest_items(collection=collection, items=items, source_type=SourceType.MANUAL, full=False)
    if result.items_synced:
        KnowledgeCollection.objects.filter(pk=collection.pk).update(last_synced_at=timezone.now())
    return result


def _agents(company, owner, collection) -> list[Agent]:
    agents = []
    for name, description, prompt, uses_handbook in AGENTS:
        agent, _ = Agent.objects.get_or_create(
            company=company,
            name=name,
            defaults={
                "description": description,
                "system_prompt": prompt,
                "created_by": owner,
                "knowledge_collection_ids": [collection.pk] if uses_handbook else [],
            },
        )
        agents.append(agent)
    return agents


def _answer(conversation, agent, question: str, content: str) -> Message:
    """The agent's answer, citing what a search of the agent's collections returns for the question."""
    hits = retrieval.search(
        company=conversation.company_id, query=question, collection_ids=agent.knowledge_collection_ids, limit=2
    )
    return Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender_type="agent",
        role="assistant",
        content=content,
        metadata=MessageMetadata(delivered_at=timezone.now(), citations=[Citation(**hit.citation()) for hit in hits]),
    )


def _conversation(company, agent, customer, contact: str, channel: str, ended: bool, turns) -> bool:
    """Create one demo conversation unless it exists; True when created."""
    if Conversation.objects.for_company(company).filter(contact_id=contact).exists():
        return False
    conversation = conversations.start_conversation(
        company=company,
        agent=agent,
        user=customer,
        channel=channel,
        contact_id=contact,
        tags=["demo"],
        metadata=ConversationMetadata(source="seed_demo"),
    )
    for question, answer in turns:
        if answer is None:
            try:
                chat.reply(conversation=conversation, user=customer, content=question)
            except chat.ChatFailed:
                pass  # no provider (or it failed): the failed answer is stored, as in the product
            continue
        chat.post_user_message(conversation=conversation, user=customer, content=question)
        _answer(conversation, agent, question, answer)
    if ended:
        conversations.end_conversation(conversation=conversation)
    return True


def seed(*, companies, progress) -> list[dict]:
    """Create each company's demo knowledge; returns one summary row per company."""
    companies = list(companies)
    summary = []
    for done, company in enumerate(companies, start=1):
        users = User.objects.for_company(company)
        owner = users.filter(role=Role.COMPANY_ADMIN).order_by("username").first()
        customer = users.filter(role=Role.CLIENT).order_by("username").first()
        collection = _collection(company, owner)
        result = _fill(collection)
        support = _agents(company, owner, collection)[0]
        created = sum(
            _conversation(company, support, customer, contact, channel, ended, turns)
            for contact, channel, ended, turns in CONVERSATIONS
        )
        summary.append({"company": company.name, "chunks_added": result.chunks_added, "conversations": created})
        progress("knowledge", done, len(companies))
    return summary
