"""The project's one text toolkit (requestdesk.text): tokens with stop words and plural
folding, HTML to text, normalisation and content hashes, and that scraping and knowledge
both read text through it."""

from requestdesk import text


def test_tokenize_drops_stop_words_and_folds_plurals():
    assert text.tokenize("The Batteries of my Lanterns aren't charging!") == ["battery", "lantern", "charging"]
    assert text.tokenize("Straße CAFÉ glass bus 42 x") == ["strasse", "café", "glass", "bus", "42"]
    assert text.tokenize("reviews_2024 ﬁles") == ["review", "2024", "file"]  # "_" splits; NFKC folds the ligature
    assert text.tokenize("the and of") == [] and text.tokenize("") == [] and text.tokenize(None) == []
    assert text.tokenize("lantern lanterns LANTERN") == ["lantern"] * 3  # repeats kept: term frequency


def test_stem_is_harmans_s_stemmer():
    pairs = {
        "batteries": "battery",
        "shoes": "shoe",
        "toes": "toe",
        "houses": "house",
        "glass": "glass",
        "status": "status",
        "bus": "bus",
        "gas": "gas",
        "lanterns": "lantern",
        "bees": "bee",
    }
    # -us/-ss are not plurals; three letters are too short.
    assert {word: text.stem(word) for word in pairs} == pairs


def test_terms_are_distinct_in_order():
    assert text.terms("Kettles boil; the kettle boils water") == ["kettle", "boil", "water"]


def test_html_to_text_keeps_paragraphs_and_drops_scripts():
    markup = (
        "<h1>Returns &amp; refunds</h1><p>Send it back<br>within 30 days.</p>"
        "<script>track()</script><style>p{}</style><ul><li>one</li><li>two</li></ul>"
    )
    assert text.html_to_text(markup) == "Returns & refunds\n\nSend it back\nwithin 30 days.\n\none\n\ntwo"
    assert text.html_to_text("plain   text\n\n\nhere") == "plain text\n\nhere"
    assert text.html_to_text("Fish &amp; chips") == "Fish & chips"
    assert text.html_to_text("") == "" and text.html_to_text(None) == ""


def test_content_hash_ignores_case_and_spacing_only():
    assert text.content_hash("Title", "a  b\n\n\nc") == text.content_hash("title", "a b c")
    assert text.content_hash("Title", "a b") != text.content_hash("Title", "a c")
    assert text.content_hash("ab", "c") != text.content_hash("a", "bc")
    assert len(text.content_hash("x")) == 64


def test_scraping_and_knowledge_share_it():
    from knowledge.services import extract, keywords
    from knowledge.services import ingest as knowledge_ingest
    from knowledge.services.connectors import shopify, wordpress
    from scraping.services import analysis, extraction, ingest
    from scraping.services.items import Item

    assert keywords.tokenize is text.tokenize and knowledge_ingest.terms is text.terms
    assert extract.html_to_text is text.html_to_text is extraction.html_to_text
    assert wordpress.html_to_text is shopify.html_to_text is text.html_to_text
    assert knowledge_ingest.content_hash is text.content_hash
    assert analysis.tokens is text.tokenize
    item = Item(title="T", text="body", author="A", url="https://x.example/")
    assert ingest.content_hash(item) == text.content_hash(item.url, item.title, item.author, item.text)
