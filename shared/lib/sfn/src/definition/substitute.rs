//! Definition substitutions: `${Name}` placeholders replaced before the document is parsed.

use std::collections::BTreeMap;

use super::model::DefinitionError;

/// Replaces every `${Name}` placeholder (SAM's `DefinitionSubstitutions`) with its value;
/// `${!Literal}` stands for the text `${Literal}`. A placeholder without a value is an error
/// naming it, so a definition never runs with an unresolved ARN.
pub fn substitute(
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, DefinitionError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            DefinitionError::document(format!(
                "placeholder \"${{{}\" is not closed with '}}'",
                after.chars().take(40).collect::<String>()
            ))
        })?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if name.is_empty() {
            return Err(DefinitionError::document("empty placeholder \"${}\""));
        } else {
            let value = values.get(name).ok_or_else(|| {
                DefinitionError::document(format!(
                    "no substitution for placeholder \"${{{name}}}\""
                ))
            })?;
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
