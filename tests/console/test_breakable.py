"""ARNs and URLs wrap at ':' and '/' (the breakable filter), escaped like any other value."""

from console.templatetags.console_tags import breakable


def test_parts_end_at_each_colon_and_slash_with_a_wbr_between_them():
    arn = "arn:aws:sqs:us-east-1:000000000000:orders-2024.fifo"
    assert breakable(arn) == (
        "<span>arn:</span><wbr><span>aws:</span><wbr><span>sqs:</span><wbr>"
        "<span>us-east-1:</span><wbr><span>000000000000:</span><wbr><span>orders-2024.fifo</span>"
    )
    assert breakable("https://x.example/") == (
        "<span>https:</span><wbr><span>/</span><wbr><span>/</span><wbr><span>x.example/</span>"
    )


def test_the_text_is_escaped_and_none_of_it_lost():
    marked = breakable('http://x/<script>"&')
    assert "<script>" not in marked
    assert marked.endswith("<span>&lt;script&gt;&quot;&amp;</span>")
    plain = marked.replace("<wbr>", "").replace("<span>", "").replace("</span>", "")
    assert plain == "http://x/&lt;script&gt;&quot;&amp;"
    assert breakable("") == ""
