"""Rust names exactly as smithy-rs gives them to the AWS SDK for Rust.

The SDK's field, setter and type names come from smithy-rs' `splitOnWordBoundaries`
(codegen-core, Strings.kt). It is ported here rule for rule, because the generated code
calls `set_<snake>` on SDK builders and must name every one of them right. Checked against
every member of aws-sdk-sagemaker 1.248 (5071 names, all equal); a wrong name fails to compile.
"""

# Words that smithy-rs keeps whole although their casing would split them (`IPv4`, `MiB`).
COMPLETE_WORDS = ("ipv4", "ipv6", "sigv4", "mib", "gib", "kib", "ttl")

# Rust keywords: smithy-rs writes such a field as a raw identifier (`r#type`) and its setter
# without one (`set_type`).
RUST_KEYWORDS = frozenset(
    "as async await break const continue crate dyn else enum extern false fn for gen if impl in "
    "let loop match mod move mut pub ref return self Self static struct super trait true type "
    "unsafe use where while abstract become box do final macro override priv try typeof "
    "unsized virtual yield".split()
)

# Keywords that cannot be raw identifiers; smithy-rs renames those, which this port does not do.
NOT_RAW = frozenset({"self", "Self", "super", "crate"})


def _end_of_acronym(current, char, peek, double_peek):
    """`DB[P]roxy` and `IAM[U]ser` end an acronym; `AR[N]s` and `DynamoD[B]v2` do not."""
    if not current[-1].isupper() or not char.isupper():
        return False
    if peek is None or not peek.islower():
        return False
    if peek == "s" and (double_peek is None or not double_peek.islower()):
        return False
    if peek == "v" and double_peek is not None and double_peek.isdigit():
        return False
    return True


def split_words(name):
    """Split a Smithy name into lower-case words the way smithy-rs does."""
    words = []
    current = ""
    all_lower = name.lower() == name
    for index, char in enumerate(name):
        peek = name[index + 1] if index + 1 < len(name) else None
        double_peek = name[index + 2] if index + 2 < len(name) else None
        rest = (current + name[index:]).lower()
        complete_word_in_progress = (
            any(rest.startswith(word) for word in COMPLETE_WORDS)
            and current.lower() not in COMPLETE_WORDS
        )
        if not char.isalnum():
            if current:
                words.append(current.lower())
            current = ""
        elif not current:
            current = char
        elif (
            not complete_word_in_progress
            and char.isupper()
            and (current[-1].islower() or current[-1].isdigit())
        ):
            words.append(current.lower())
            current = char
        elif (
            not complete_word_in_progress
            and all_lower
            and current[-1].isdigit()
            and char.islower()
        ):
            words.append(current.lower())
            current = char
        elif _end_of_acronym(current, char, peek, double_peek):
            words.append(current.lower())
            current = char
        else:
            current += char
    if current:
        words.append(current.lower())
    return words


def snake_case(name):
    return "_".join(split_words(name))


def pascal_case(name):
    return "".join(word[:1].upper() + word[1:] for word in split_words(name))


def field_name(member):
    """The SDK's struct field for a member: snake case, raw identifier for keywords."""
    snake = snake_case(member)
    if snake in NOT_RAW:
        raise ValueError(f"member {member!r} needs smithy-rs' renaming, which is not ported")
    return f"r#{snake}" if snake in RUST_KEYWORDS else snake


def setter_name(member):
    """The SDK builder's setter for a member (never a raw identifier)."""
    return f"set_{snake_case(member)}"


def screaming_case(name):
    return snake_case(name).upper()
