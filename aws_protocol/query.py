"""The AWS query protocol's flattened parameters (`Attribute.1.Name=…`), unflattened."""


def unflatten(pairs, error):
    """Turn `A.1.B=x` pairs into nested dicts: {"A": {"1": {"B": "x"}}}.

    A name that is both a value and a structure (`A.1=x` with `A.1.B=y`) raises `error`, the
    door's own: no reading of it would be the client's meaning.
    """
    tree = {}
    for key, value in pairs:
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise error(f"The parameter {key} is nested under a parameter with a value.")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise error(f"The parameter {key} has a value and nested parameters.")
        node[parts[-1]] = value
    return tree


def numbered(node):
    """The values of a {"1": …, "2": …} node in numeric order (non-numeric keys ignored)."""
    if not isinstance(node, dict):
        return []
    items = [(int(key), value) for key, value in node.items() if key.isdigit()]
    return [value for _, value in sorted(items, key=lambda item: item[0])]
