//! Where the live scoring keeps its items in the single table:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | a contest's read of one platform server's deal history (cursor, counts; audited) | `CONTESTFEED#<contest>#<server>` | `FEED` |
//! | an entry account's deal, latest revision | `CONTESTDEALS#<contest>#<login>` | deal ticket, 20 digits |
//! | an entrant's score as the last batch left it | `CONTESTSCORES#<contest>` | entrant id |
//! | the contest's leaderboard: its latest snapshot (audited) / a page of a snapshot's rows | `CONTESTBOARD#<contest>` | `LATEST` / `SNAP#<seq, 10 digits>#<page, 6 digits>` |
//! | a hedging flag between two entrants (audited) | `CONTESTFLAGS#<contest>` | `<entrant>:<entrant>` |

use brokeros_store::Key;

pub fn feed(id: &str) -> Key {
    Key::new(format!("CONTESTFEED#{id}"), "FEED")
}

pub fn entry_deals(contest: &str, login: u64) -> String {
    format!("CONTESTDEALS#{contest}#{login}")
}

pub fn entry_deal(contest: &str, login: u64, deal: u64) -> Key {
    Key::new(entry_deals(contest, login), format!("{deal:020}"))
}

pub fn scores(contest: &str) -> String {
    format!("CONTESTSCORES#{contest}")
}

pub fn score(contest: &str, entrant: &str) -> Key {
    Key::new(scores(contest), entrant)
}

pub fn board(contest: &str) -> Key {
    Key::new(format!("CONTESTBOARD#{contest}"), "LATEST")
}

pub fn board_page(contest: &str, seq: u64, page: u32) -> Key {
    Key::new(
        format!("CONTESTBOARD#{contest}"),
        format!("SNAP#{seq:010}#{page:06}"),
    )
}

pub fn flags(contest: &str) -> String {
    format!("CONTESTFLAGS#{contest}")
}

/// Flag `<contest>:<entrant>:<entrant>` (contest ids hold no ':').
pub fn flag(id: &str) -> Key {
    let (contest, pair) = id.split_once(':').unwrap_or((id, ""));
    Key::new(flags(contest), pair)
}
