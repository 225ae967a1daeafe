"""The AWS query protocol's flattened parameters (`Attribute.1.Name=…`), unflattened."""


def unflatten(pairs):
    """Turn `A.1.B=x` pairs into nested dicts: {"A": {"1": {"B": "x"}}}; last value wins."""
    tree = {}
    for key, value in pairs:
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return tree


def numbered(node):
    """The values of a {"1": …, "2": …} node in numeric order (non-numeric keys ignored)."""
    if not isinstance(node, dict):
        return []
    items = [(int(key), value) for key, value in node.items() if key.isdigit()]
    return [value for _, value in sorted(items)]
