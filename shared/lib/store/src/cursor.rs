use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::{Index, Item, Query, StoreError};

/// Where a page ended. Encoded as opaque base64url text; it names the query it belongs to, so
/// a cursor from another query (or one made up) is refused instead of leaking other data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "t")]
    pub table: String,
    #[serde(rename = "i", skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(rename = "q")]
    pub query_pk: String,
    /// The last item's index sort key (index queries only).
    #[serde(rename = "s", skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
    #[serde(rename = "p")]
    pub pk: String,
    #[serde(rename = "k")]
    pub sk: String,
}

impl Cursor {
    /// The cursor that resumes `query` after `last`.
    pub fn after(query: &Query, last: &Item) -> Cursor {
        Cursor {
            table: query.table.as_str().to_string(),
            index: query.index.map(|i| i.name().to_string()),
            query_pk: query.pk.clone(),
            index_sk: query
                .index
                .and_then(|i| last.indexes.get(&i).map(|k| k.sk.clone())),
            pk: last.key.pk.clone(),
            sk: last.key.sk.clone(),
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursors serialize"))
    }

    /// Decodes the cursor of `query`, refusing one that belongs to another query.
    pub fn decode_for(query: &Query) -> Result<Option<Cursor>, StoreError> {
        let Some(text) = &query.cursor else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| StoreError::InvalidCursor)?;
        let cursor: Cursor =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
        let same_query = cursor.table == query.table.as_str()
            && cursor.index.as_deref().and_then(Index::from_name) == query.index
            && cursor
                .index
                .as_deref()
                .is_none_or(|n| Index::from_name(n).is_some())
            && cursor.query_pk == query.pk
            && cursor.index_sk.is_some() == query.index.is_some();
        if !same_query {
            return Err(StoreError::InvalidCursor);
        }
        let sort_key = cursor.index_sk.as_deref().unwrap_or(&cursor.sk);
        if !query.sk.contains(sort_key) {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Some(cursor))
    }
}
