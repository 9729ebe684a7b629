//! JSON paths such as `InputDataConfig[0].DataSource.S3DataSource`.

use std::fmt;

use serde_json::Value;

/// One step into a JSON value: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in a document, from the top-level object down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(Vec<Segment>);

impl JsonPath {
    /// The top-level value.
    pub fn root() -> Self {
        Self::default()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub fn push_key(&mut self, key: impl Into<String>) {
        self.0.push(Segment::Key(key.into()));
    }

    pub fn push_index(&mut self, index: usize) {
        self.0.push(Segment::Index(index));
    }

    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }

    /// Puts `segment` in front: used while an error bubbles up out of nested values.
    pub fn prepend(&mut self, segment: Segment) {
        self.0.insert(0, segment);
    }

    /// This path extended by one key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.push_key(key);
        path
    }

    /// This path extended by one index.
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.push_index(index);
        path
    }

    /// The path one step up; the root is its own parent.
    pub fn parent(&self) -> Self {
        let mut path = self.clone();
        path.pop();
        path
    }

    pub fn last(&self) -> Option<&Segment> {
        self.0.last()
    }

    pub fn starts_with(&self, prefix: &[Segment]) -> bool {
        self.0.starts_with(prefix)
    }

    /// The value at this path, if there is one.
    pub fn lookup<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.0
            .iter()
            .try_fold(root, |value, segment| match segment {
                Segment::Key(key) => value.as_object()?.get(key),
                Segment::Index(index) => value.as_array()?.get(*index),
            })
    }

    /// The value at this path, mutably, if there is one.
    pub fn lookup_mut<'v>(&self, root: &'v mut Value) -> Option<&'v mut Value> {
        self.0
            .iter()
            .try_fold(root, |value, segment| match segment {
                Segment::Key(key) => value.as_object_mut()?.get_mut(key),
                Segment::Index(index) => value.as_array_mut()?.get_mut(*index),
            })
    }
}

impl From<Vec<Segment>> for JsonPath {
    fn from(segments: Vec<Segment>) -> Self {
        Self(segments)
    }
}

impl FromIterator<Segment> for JsonPath {
    fn from_iter<I: IntoIterator<Item = Segment>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Keys made of these characters print bare (`HyperParameters.learning_rate`), others quoted
/// (`Environment["MY.VAR"]`), so every printed path reads back unambiguously.
fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_bare_key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{}]", Value::String(key.clone()))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(segments: &[Segment]) -> JsonPath {
        JsonPath::from(segments.to_vec())
    }

    #[test]
    fn displays_keys_indices_and_the_root() {
        let p = path(&[
            Segment::Key("InputDataConfig".into()),
            Segment::Index(0),
            Segment::Key("DataSource".into()),
            Segment::Key("S3DataSource".into()),
        ]);
        assert_eq!(p.to_string(), "InputDataConfig[0].DataSource.S3DataSource");
        assert_eq!(JsonPath::root().to_string(), "(top level)");
        assert_eq!(path(&[Segment::Index(2)]).to_string(), "[2]");
    }

    #[test]
    fn quotes_keys_that_would_read_ambiguously() {
        let p = path(&[
            Segment::Key("Environment".into()),
            Segment::Key("MY.VAR".into()),
        ]);
        assert_eq!(p.to_string(), r#"Environment["MY.VAR"]"#);
        let empty = path(&[Segment::Key(String::new())]);
        assert_eq!(empty.to_string(), r#"[""]"#);
    }

    #[test]
    fn looks_values_up() {
        let value = json!({"A": [{"B": 1}]});
        let p = JsonPath::root().key("A").index(0).key("B");
        assert_eq!(p.lookup(&value), Some(&json!(1)));
        assert_eq!(JsonPath::root().key("A").index(3).lookup(&value), None);
        assert_eq!(JsonPath::root().key("A").key("B").lookup(&value), None);
        assert_eq!(JsonPath::root().lookup(&value), Some(&value));
    }

    #[test]
    fn push_pop_prepend_and_parent() {
        let mut p = JsonPath::root();
        p.push_key("B");
        p.prepend(Segment::Index(1));
        p.prepend(Segment::Key("A".into()));
        assert_eq!(p.to_string(), "A[1].B");
        assert_eq!(p.parent().to_string(), "A[1]");
        assert_eq!(p.pop(), Some(Segment::Key("B".into())));
        assert_eq!(JsonPath::root().parent(), JsonPath::root());
    }
}
