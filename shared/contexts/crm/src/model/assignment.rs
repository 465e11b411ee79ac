use crate::config::{AssignmentConfig, DEFAULT_POOL};

/// The first assignment rule matching the lead's country and language, or the default pool.
/// Returns the pool id (used to key its round-robin counter) and its agents.
pub fn select_pool<'a>(
    config: &'a AssignmentConfig,
    country: &str,
    language: Option<&str>,
) -> (&'a str, &'a [String]) {
    let lang = language.map(|l| l.split('-').next().unwrap_or(l));
    config
        .rules
        .iter()
        .find(|rule| {
            let country_ok = rule.countries.is_empty()
                || rule
                    .countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(country));
            let language_ok = rule.languages.is_empty()
                || lang.is_some_and(|l| rule.languages.iter().any(|x| x.eq_ignore_ascii_case(l)));
            country_ok && language_ok
        })
        .map(|rule| (rule.id.as_str(), rule.agents.as_slice()))
        .unwrap_or((DEFAULT_POOL, config.default_agents.as_slice()))
}

/// The agent whose turn it is, given how many leads the pool has assigned so far.
pub fn round_robin(agents: &[String], assigned_so_far: u64) -> &str {
    &agents[(assigned_so_far % agents.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_then_default_pool_then_rotation() {
        let config = AssignmentConfig::embedded_default();
        assert_eq!(select_pool(&config, "DE", None).0, "dach-desk");
        assert_eq!(select_pool(&config, "BR", Some("pt-BR")).0, "latam-desk");
        let (pool, agents) = select_pool(&config, "GB", Some("en"));
        assert_eq!(pool, "default");
        let picks: Vec<&str> = (0..4).map(|n| round_robin(agents, n)).collect();
        assert_eq!(picks, ["sales-1", "sales-2", "sales-3", "sales-1"]);
    }
}
