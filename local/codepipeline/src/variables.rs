//! CodePipeline variables: `#{Namespace.Name}` references in action configurations, resolved
//! before an action runs from the namespaces of the actions that ran before it and the
//! `codepipeline` namespace (`#{codepipeline.PipelineExecutionId}`).

use std::collections::BTreeMap;

/// Every namespace's variables so far.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    #[error(
        "`#{{{reference}}}` refers to the namespace `{namespace}`, which no earlier action \
         declares (known: {known}); check the action's `Namespace` and the reference's spelling"
    )]
    UnknownNamespace {
        reference: String,
        namespace: String,
        known: String,
    },
    #[error(
        "`#{{{reference}}}`: the action of namespace `{namespace}` did not output `{name}` \
         (it output: {known})"
    )]
    UnknownVariable {
        reference: String,
        namespace: String,
        name: String,
        known: String,
    },
    #[error("`#{{{reference}}}` is not a variable reference of the form #{{Namespace.Name}}")]
    Malformed { reference: String },
}

impl Variables {
    pub fn new(execution_id: &str) -> Self {
        let mut v = Variables::default();
        v.set(
            "codepipeline",
            BTreeMap::from([("PipelineExecutionId".to_owned(), execution_id.to_owned())]),
        );
        v
    }

    pub fn set(&mut self, namespace: &str, variables: BTreeMap<String, String>) {
        self.namespaces.insert(namespace.to_owned(), variables);
    }

    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(namespace)
    }

    /// `text` with every `#{Namespace.Name}` replaced by its value. An unterminated `#{` is
    /// left as it is (CodePipeline does the same: it is not a reference).
    pub fn resolve(&self, text: &str) -> Result<String, VariableError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("#{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let reference = &after[..end];
            out.push_str(self.lookup(reference)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, reference: &str) -> Result<&str, VariableError> {
        let (namespace, name) = reference
            .split_once('.')
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
            .ok_or_else(|| VariableError::Malformed {
                reference: reference.to_owned(),
            })?;
        let variables =
            self.namespaces
                .get(namespace)
                .ok_or_else(|| VariableError::UnknownNamespace {
                    reference: reference.to_owned(),
                    namespace: namespace.to_owned(),
                    known: list(self.namespaces.keys()),
                })?;
        variables
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| VariableError::UnknownVariable {
                reference: reference.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                known: list(variables.keys()),
            })
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        let mut v = Variables::new("exec-1");
        v.set(
            "SourceVariables",
            BTreeMap::from([("CommitId".to_owned(), "abc".to_owned())]),
        );
        v
    }

    #[test]
    fn references_are_replaced_and_the_rest_is_kept() {
        let text = r##"{"ExecutionId":"#{codepipeline.PipelineExecutionId}","CommitId":"#{SourceVariables.CommitId}","N":1}"##;
        assert_eq!(
            vars().resolve(text).unwrap(),
            r##"{"ExecutionId":"exec-1","CommitId":"abc","N":1}"##
        );
        assert_eq!(vars().resolve("no refs # { }").unwrap(), "no refs # { }");
        assert_eq!(vars().resolve("open #{x").unwrap(), "open #{x");
    }

    #[test]
    fn unknown_references_name_what_is_known() {
        let e = vars().resolve("#{BuildVariables.X}").unwrap_err();
        assert!(
            e.to_string().contains("SourceVariables, codepipeline"),
            "{e}"
        );
        let e = vars().resolve("#{SourceVariables.Commit}").unwrap_err();
        assert!(e.to_string().contains("output: CommitId"), "{e}");
        let e = vars().resolve("#{CommitId}").unwrap_err();
        assert_eq!(
            e,
            VariableError::Malformed {
                reference: "CommitId".into()
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn text_without_references_is_unchanged(text in "[^#]*") {
            proptest::prop_assert_eq!(vars().resolve(&text).unwrap(), text);
        }
    }
}
