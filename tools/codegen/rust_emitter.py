"""Rust source for the serde mirror of SageMaker request shapes.

For every structure reachable from the chosen operations' inputs it emits:
- a serde struct that accepts exactly the API's JSON (PascalCase keys, unknown keys rejected);
- `check`, the model's constraints (length, range, size, enum case, pattern);
- `TryFrom<Mirror> for aws_sdk_sagemaker::types::X`, or `apply` onto the operation's fluent
  builder for an operation input, setting every member.
"""

import html
import re

from smithy_names import field_name, pascal_case, screaming_case, setter_name, snake_case

# Names the generated module uses itself: a shape with one of these names would shadow them.
RESERVED_TYPE_NAMES = frozenset(
    {"Option", "Some", "None", "Result", "Ok", "Err", "String", "Vec", "HashMap", "Box",
     "Deserialize", "Serialize", "JsonPath", "Segment", "Violation", "ConversionError", "Built",
     "BuildError", "TryFrom", "Self"}
)

SCALARS = {
    "string": "String",
    "boolean": "bool",
    "integer": "i32",
    "long": "i64",
    "float": "f32",
    "double": "f64",
    # Epoch seconds, the API's own JSON form of a timestamp.
    "timestamp": "f64",
}

LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")

# Java's POSIX classes (SageMaker validates with java.util.regex), ASCII as in Java.
JAVA_CLASSES = {"Alnum": "a-zA-Z0-9", "Alpha": "a-zA-Z", "Digit": "0-9", "Lower": "a-z",
                "Upper": "A-Z"}


class Unsupported(Exception):
    pass


def first_sentence(documentation):
    """The first sentence of a model documentation string, as plain text."""
    if not documentation:
        return None
    text = re.sub(r"</?code>", "`", documentation)
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"`\s*([^`]*?)\s*`", r"`\1`", text)
    match = re.search(r"^(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence.replace("[", "\\[").replace("]", "\\]") or None


def doc_comment(documentation, indent=""):
    sentence = first_sentence(documentation)
    return [f"{indent}/// {sentence}"] if sentence else []


def rust_pattern(pattern):
    """(the anchored pattern for the regex crate, None) or (None, why it is skipped).

    SageMaker matches the whole value (Java's `matches`), so the pattern is anchored.
    """
    for lookaround in LOOKAROUND:
        if lookaround in pattern:
            return None, f"lookaround `{lookaround}`, which the regex crate does not support"
    if re.search(r"\\[1-9]", pattern):
        return None, "a backreference, which the regex crate does not support"
    out = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        java_class = re.match(r"\\p\{(\w+)\}", pattern[index:])
        if java_class and java_class.group(1) in JAVA_CLASSES:
            ranges = JAVA_CLASSES[java_class.group(1)]
            out.append(ranges if in_class else f"[{ranges}]")
            index += len(java_class.group(0))
            continue
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        index += 1
    return f"^(?:{''.join(out)})$", None


def rust_str(value):
    """A Rust string literal (raw where that reads better)."""
    if '"#' not in value and ("\\" in value or '"' in value):
        return f'r#"{value}"#'
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def int_literal(value):
    return str(int(value))


def float_literal(value):
    text = repr(float(value))
    return text if ("." in text or "e" in text) else text + ".0"


class Emitter:
    def __init__(self, model, operations, optional_overrides, botocore_version):
        self.shapes = model["shapes"]
        self.operations = operations
        self.inputs = {op: model["operations"][op]["input"]["shape"] for op in operations}
        self.optional_overrides = optional_overrides
        self.botocore_version = botocore_version
        self.reachable = self._reachable()
        self.patterns = []  # (model pattern, anchored rust pattern)
        self.pattern_index = {}
        self.skipped_patterns = []  # (shape, model pattern, reason)
        self.enums = set()
        self._validate()

    # --- the model ------------------------------------------------------------------------

    def _reachable(self):
        seen = {}
        stack = list(reversed(list(self.inputs.values())))
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            shape = self.shapes[name]
            seen[name] = shape
            kind = shape["type"]
            if kind == "structure":
                stack.extend(member["shape"] for member in reversed(list(shape["members"].values())))
            elif kind == "list":
                stack.append(shape["member"]["shape"])
            elif kind == "map":
                stack.extend([shape["value"]["shape"], shape["key"]["shape"]])
        return seen

    def _validate(self):
        for name, shape in self.reachable.items():
            kind = shape["type"]
            if kind not in SCALARS and kind not in ("structure", "list", "map"):
                raise Unsupported(f"shape {name} has type {kind}: extend tools/codegen")
            if shape.get("union") or shape.get("document"):
                raise Unsupported(f"shape {name} is a union or document: extend tools/codegen")
            if kind == "map" and self.shapes[shape["key"]["shape"]]["type"] != "string":
                raise Unsupported(f"map {name} has non-string keys")
            if kind == "map" and "enum" in self.shapes[shape["key"]["shape"]]:
                raise Unsupported(f"map {name} has enum keys: extend tools/codegen")
            if kind == "structure" and pascal_case(name) in RESERVED_TYPE_NAMES:
                raise Unsupported(f"structure {name} clashes with a name the module uses")
        for shape, member in self.optional_overrides:
            if member not in self.shapes[shape].get("required", []):
                raise Unsupported(f"override {shape}.{member}: the model does not require it")

    def structures(self):
        """Operation inputs first, then every other structure by name."""
        inputs = list(self.inputs.values())
        rest = sorted(n for n, s in self.reachable.items()
                      if s["type"] == "structure" and n not in inputs)
        return inputs + rest

    def is_required(self, structure, member):
        return (member in self.shapes[structure].get("required", [])
                and (structure, member) not in self.optional_overrides)

    def snapshot(self):
        """The reachable shapes without documentation, for the tests."""
        def strip(value):
            if isinstance(value, dict):
                return {k: strip(v) for k, v in value.items() if k != "documentation"}
            return value
        return {
            "generator": "tools/codegen",
            "botocore_version": self.botocore_version,
            "operations": self.inputs,
            "optional_overrides": sorted(f"{s}.{m}" for s, m in self.optional_overrides),
            "shapes": {name: strip(self.reachable[name]) for name in sorted(self.reachable)},
        }

    # --- types ----------------------------------------------------------------------------

    def mirror_type(self, name):
        shape = self.shapes[name]
        kind = shape["type"]
        if kind in SCALARS:
            return SCALARS[kind]
        if kind == "list":
            return f"Vec<{self.mirror_type(shape['member']['shape'])}>"
        if kind == "map":
            return f"HashMap<String, {self.mirror_type(shape['value']['shape'])}>"
        return pascal_case(name)

    def conversion(self, name, expr):
        """(Rust expression of the SDK type, fallible) for a mirror value, None if the same."""
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "string" and "enum" in shape:
            return f"sdk::types::{pascal_case(name)}::from({expr}.as_str())", False
        if kind == "timestamp":
            return f"::aws_smithy_types::DateTime::from_secs_f64({expr})", False
        if kind == "structure":
            return f"sdk::types::{pascal_case(name)}::try_from({expr})", True
        if kind == "list":
            inner = self.closure(shape["member"]["shape"], "e")
            if inner is None:
                return None
            code, fallible = inner
            if fallible:
                return f"convert::list({expr}, {code})", True
            return f"{expr}.into_iter().map({code}).collect::<Vec<_>>()", False
        if kind == "map":
            inner = self.closure(shape["value"]["shape"], "e")
            if inner is None:
                return None
            code, fallible = inner
            if fallible:
                return f"convert::map({expr}, {code})", True
            code, _ = self.conversion(shape["value"]["shape"], "e")
            return f"{expr}.into_iter().map(|(k, e)| (k, {code})).collect::<HashMap<_, _>>()", False
        return None

    def closure(self, name, var):
        """(a function or closure converting one value, fallible), None if nothing to do."""
        converted = self.conversion(name, var)
        if converted is None:
            return None
        code, fallible = converted
        suffix = f"({var})"
        if code.endswith(suffix) and re.fullmatch(r"[\w:]+", code[: -len(suffix)]):
            return code[: -len(suffix)], fallible
        return f"|{var}| {code}", fallible

    def member_value(self, structure, member, shape_name):
        """The argument of `set_<member>`: an Option of the SDK type."""
        field = f"v.{field_name(member)}"
        at = f'|e| e.within_key("{member}")'
        if self.is_required(structure, member):
            converted = self.conversion(shape_name, field)
            if converted is None:
                return f"Some({field})"
            code, fallible = converted
            return f"Some({code}.map_err({at})?)" if fallible else f"Some({code})"
        converted = self.closure(shape_name, "x")
        if converted is None:
            return field
        code, fallible = converted
        if fallible:
            return f"{field}.map({code}).transpose().map_err({at})?"
        return f"{field}.map({code})"

    # --- checks ---------------------------------------------------------------------------

    def pattern_id(self, shape_name, pattern):
        if pattern not in self.pattern_index:
            rust, reason = rust_pattern(pattern)
            if rust is None:
                self.pattern_index[pattern] = None
                self.skipped_patterns.append((shape_name, pattern, reason))
            else:
                self.pattern_index[pattern] = len(self.patterns)
                self.patterns.append((pattern, rust))
        return self.pattern_index[pattern]

    def checks(self, name, var, depth):
        """Statements checking the value `var` (a reference) of shape `name`."""
        shape = self.shapes[name]
        kind = shape["type"]
        lines = []
        low, high = shape.get("min"), shape.get("max")
        if kind == "string":
            if low or high is not None:
                lines.append(f"check::length({var}, {self.bound(low, int_literal, 0)}, "
                             f"{self.bound(high, int_literal)}, path, out);")
            if "enum" in shape:
                self.enums.add(name)
                lines.append(f"check::enumeration({var}, ENUM_{screaming_case(name)}, path, out);")
            if "pattern" in shape:
                index = self.pattern_id(name, shape["pattern"])
                if index is not None:
                    lines.append(f"check::pattern({var}, {index}, path, out);")
        elif kind in ("integer", "long") and (low is not None or high is not None):
            lines.append(f"check::range(i64::from(*{var}), {self.bound(low, int_literal)}, "
                         f"{self.bound(high, int_literal)}, path, out);")
        elif kind in ("float", "double") and (low is not None or high is not None):
            lines.append(f"check::range(f64::from(*{var}), {self.bound(low, float_literal)}, "
                         f"{self.bound(high, float_literal)}, path, out);")
        elif kind == "structure":
            lines.append(f"{var}.check(path, out);")
        elif kind == "list":
            if low or high is not None:
                lines.append(f"check::size({var}.len(), {self.bound(low, int_literal, 0)}, "
                             f"{self.bound(high, int_literal)}, path, out);")
            element = f"e{depth}"
            inner = self.checks(shape["member"]["shape"], element, depth + 1)
            if inner:
                lines.append(f"for (i{depth}, {element}) in {var}.iter().enumerate() {{")
                lines.append(f"path.push_index(i{depth});")
                lines.extend(inner)
                lines.append("path.pop();")
                lines.append("}")
        elif kind == "map":
            if low or high is not None:
                lines.append(f"check::size({var}.len(), {self.bound(low, int_literal, 0)}, "
                             f"{self.bound(high, int_literal)}, path, out);")
            key, value = f"k{depth}", f"e{depth}"
            inner = (self.checks(shape["key"]["shape"], key, depth + 1)
                     + self.checks(shape["value"]["shape"], value, depth + 1))
            if inner:
                lines.append(f"for ({key}, {value}) in {var} {{")
                lines.append(f"path.push_key({key}.as_str());")
                lines.extend(inner)
                lines.append("path.pop();")
                lines.append("}")
        return lines

    @staticmethod
    def bound(value, literal, ignore=None):
        if value is None or value == ignore:
            return "None"
        return f"Some({literal(value)})"

    # --- emission -------------------------------------------------------------------------

    def emit_struct(self, name):
        shape = self.shapes[name]
        rust = pascal_case(name)
        lines = doc_comment(shape.get("documentation"))
        lines += [
            "#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]",
            "#[serde(deny_unknown_fields)]",
            f"pub struct {rust} {{",
        ]
        for member, spec in shape["members"].items():
            lines += doc_comment(spec.get("documentation")
                                 or self.shapes[spec["shape"]].get("documentation"), "    ")
            mirror = self.mirror_type(spec["shape"])
            if self.is_required(name, member):
                lines.append(f'    #[serde(rename = "{member}")]')
                lines.append(f"    pub {field_name(member)}: {mirror},")
            else:
                lines.append(f'    #[serde(rename = "{member}", skip_serializing_if = "Option::is_none")]')
                lines.append(f"    pub {field_name(member)}: Option<{mirror}>,")
        lines.append("}")
        lines.append("")
        lines += self.emit_check(name)
        lines.append("")
        if name in self.inputs.values():
            lines += self.emit_apply(name)
        else:
            lines += self.emit_try_from(name)
        lines.append("")
        return lines

    def emit_check(self, name):
        shape = self.shapes[name]
        body = []
        for member, spec in shape["members"].items():
            field = field_name(member)
            required = self.is_required(name, member)
            inner = self.checks(spec["shape"], "m", 0)
            if not inner:
                continue
            body.append(f"{{ let m = &self.{field};" if required
                        else f"if let Some(m) = &self.{field} {{")
            body.append(f'path.push_key("{member}");')
            body.extend(inner)
            body.append("path.pop();")
            body.append("}")
        if not body:
            body = ["let _ = (path, out);"]
        return [
            f"impl {pascal_case(name)} {{",
            "    /// Collects what SageMaker would reject in this value by the API model's constraints.",
            "    pub fn check(&self, path: &mut JsonPath, out: &mut Vec<Violation>) {",
            *body,
            "    }",
            "}",
        ]

    def emit_try_from(self, name):
        shape = self.shapes[name]
        rust = pascal_case(name)
        setters = [f".{setter_name(m)}({self.member_value(name, m, s['shape'])})"
                   for m, s in shape["members"].items()]
        body = (["let built = Self::builder()", *setters, ".build();"] if setters
                else ["let _ = v;", "let built = Self::builder().build();"])
        return [
            f"impl TryFrom<{rust}> for sdk::types::{rust} {{",
            "    type Error = ConversionError;",
            f"    fn try_from(v: {rust}) -> Result<Self, ConversionError> {{",
            *body,
            "        <_ as Built<Self>>::built(built).map_err(ConversionError::build)",
            "    }",
            "}",
            "",
            f"impl Built<sdk::types::{rust}> for sdk::types::{rust} {{",
            "    fn built(self) -> Result<Self, BuildError> {",
            "        Ok(self)",
            "    }",
            "}",
        ]

    def emit_apply(self, name):
        operation = next(op for op, shape in self.inputs.items() if shape == name)
        builder = (f"sdk::operation::{snake_case(operation)}::builders::"
                   f"{operation}FluentBuilder")
        setters = [f".{setter_name(m)}({self.member_value(name, m, s['shape'])})"
                   for m, s in self.shapes[name]["members"].items()]
        return [
            f"impl {pascal_case(name)} {{",
            f"    /// Sets every member of this request on the `{operation}` call.",
            f"    pub fn apply(self, b: {builder}) -> Result<{builder}, ConversionError> {{",
            "        let v = self;",
            "        Ok(b",
            *setters,
            "        )",
            "    }",
            "}",
        ]

    def emit(self):
        structs = []
        for name in self.structures():
            structs += self.emit_struct(name)
        header = [
            "// @generated by tools/codegen, do not edit: run `python3 tools/codegen/generate.py`.",
            f"// Source: botocore {self.botocore_version}, SageMaker API model 2017-07-24.",
            f"// Operations: {', '.join(self.operations)}.",
            "//! Serde mirror of SageMaker request shapes, their constraint checks and their",
            "//! conversion onto aws-sdk-sagemaker.",
        ]
        # Inner doc comments must come before items; keep the marker comments above them.
        lines = header + [
            "#![allow(clippy::too_many_lines)]",
            "",
            "use std::collections::HashMap;",
            "",
            "use aws_sdk_sagemaker as sdk;",
            "use aws_smithy_types::error::operation::BuildError;",
            "use config_file::JsonPath;",
            "use serde::{Deserialize, Serialize};",
            "",
            "use crate::check::{self, Violation};",
            "use crate::convert::{self, Built, ConversionError};",
            "",
        ]
        lines += structs
        for enum in sorted(self.enums):
            values = ", ".join(rust_str(v) for v in self.shapes[enum]["enum"])
            lines.append(f"/// The values the model lists for `{enum}`.")
            lines.append(f"pub(crate) const ENUM_{screaming_case(enum)}: &[&str] = &[{values}];")
        lines.append("")
        lines.append("/// Model patterns (as written, anchored for the regex crate) that `check` applies.")
        lines.append(f"pub static PATTERNS: [(&str, &str); {len(self.patterns)}] = [")
        for model, rust in self.patterns:
            lines.append(f"    ({rust_str(model)}, {rust_str(rust)}),")
        lines.append("];")
        lines.append("")
        lines.append("/// Model patterns that `check` does not apply: (shape, pattern, why).")
        lines.append(f"pub static SKIPPED_PATTERNS: [(&str, &str, &str); "
                     f"{len(self.skipped_patterns)}] = [")
        for shape, model, reason in self.skipped_patterns:
            lines.append(f"    ({rust_str(shape)}, {rust_str(model)}, {rust_str(reason)}),")
        lines.append("];")
        return "\n".join(lines) + "\n"
