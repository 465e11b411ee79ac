//! The contest chapter of `brokeros demo`: marketing's trading contest scored by return, five
//! clients entering it and trading on the simulated platform — a scalp that does not count, a
//! deposit that does not lift a return, a drawdown that disqualifies — the public leaderboard,
//! and the `contest-scoring` workflow's final run: frozen, recomputed in full, its prizes
//! approved by finance (not by whoever published the contest) and paid into the winners'
//! wallets.
//!
//! Everything goes through the public API except what has no route: the entrants' funding and
//! trades (the simulated platform's own calls), the demo's clock, and the schedule that starts
//! the final run (what the SAM template's schedule invokes).

use std::collections::HashMap;

use brokeros_http::client::Call;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{AheadClock, Clock};
use brokeros_sfn::{EventType, ExecutionStatus};
use brokeros_trading::{DealSide, PlatformDeal};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::trades::{Person, Trades, client, fund, held_text, parse};
use super::{Demo, amount, finished, print_states, rfc3339, text, whole_second};
use crate::local::LocalBrokerOs;

const CONTEST_ID: &str = "demo-cup";

/// What each entrant's account holds when it enters.
const STAKE: &str = "1000.00";

/// The drawdown (a fraction of the peak) past which an entrant is disqualified. The other
/// entrants trade 0.5 lots held at most five minutes: on the simulated market (hourly levels at
/// most 3000 points apart, so at most 50 points a minute; a minute's and a second's noise at
/// most 34 points either way; a spread of at most 25 points) such a trade loses at most 330
/// points, 165.00 and 3.50 of commission on the 1000.00 stake, so only Hana can pass 25 %.
const DRAWDOWN_LIMIT: &str = "0.25";

/// Hana's lots per trade, and how many trades she gets to pass the drawdown limit: each costs
/// the spread and 35.00 of commission, and she turns after a trade the market paid for. Over
/// five years of the simulated market, starting every seven minutes, she needed four trades or
/// fewer nine times in ten and never more than 27; 40 of three minutes each end within the
/// contest period.
const RECKLESS_LOTS: &str = "5";
const RECKLESS_TRADES: u32 = 40;

/// A client of the chapter: who they are and what the contest knows them by.
struct Entrant {
    first_name: &'static str,
    client_id: String,
    /// The portal token they act with.
    token: String,
    login: u64,
    /// Their entry's id (`ent_…`).
    entry: String,
}

const FARAH: Person = Person {
    first_name: "Farah",
    last_name: "Khan",
    country: "GB",
    date_of_birth: "1992-04-03",
    documents: [
        ("passport", "530118827"),
        ("proof_of_address", "COUNCIL-TAX-31"),
    ],
};

const GORAN: Person = Person {
    first_name: "Goran",
    last_name: "Petrov",
    country: "DE",
    date_of_birth: "1985-09-17",
    documents: [
        ("passport", "C4F7K9L21"),
        ("proof_of_address", "STROM-2026-44"),
    ],
};

const HANA: Person = Person {
    first_name: "Hana",
    last_name: "Novak",
    country: "DE",
    date_of_birth: "1996-01-29",
    documents: [
        ("passport", "C2H8M3P57"),
        ("proof_of_address", "MIETE-2026-08"),
    ],
};

const IVO: Person = Person {
    first_name: "Ivo",
    last_name: "Santos",
    country: "PT",
    date_of_birth: "1979-11-08",
    documents: [
        ("national_id", "PT7712098"),
        ("proof_of_address", "EDP-2026-31"),
    ],
};

const JONAS: Person = Person {
    first_name: "Jonas",
    last_name: "Weber",
    country: "DE",
    date_of_birth: "1990-06-12",
    documents: [
        ("passport", "C9T1R6W83"),
        ("proof_of_address", "GEZ-2026-17"),
    ],
};

/// The chapter's entrants by first name.
struct Field {
    farah: Entrant,
    goran: Entrant,
    hana: Entrant,
    ivo: Entrant,
    jonas: Entrant,
}

impl Field {
    fn all(&self) -> [&Entrant; 5] {
        [&self.farah, &self.goran, &self.hana, &self.ivo, &self.jonas]
    }

    /// First names by entry id, as the chapter prints rows and awards.
    fn names(&self) -> HashMap<String, &'static str> {
        self.all()
            .into_iter()
            .map(|e| (e.entry.clone(), e.first_name))
            .collect()
    }
}

pub(super) async fn chapter(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
) -> Result<(), String> {
    println!(
        "\n== A trading contest: five entrants, a scalp that does not count, a deposit that does not \
         lift a return, a drawdown that disqualifies, prizes approved and paid"
    );
    let contest = publish(demo, clock).await?;
    let field = enter(demo, local).await?;
    let board = format!("/contests/{CONTEST_ID}/leaderboard");
    let period = &contest["period"];
    clock.advance_to(at(&period["from"])? + Duration::minutes(1));
    let scalp = trade(demo, local, clock, &field).await?;
    score_now(
        demo,
        local,
        &format!(
            "Marketing runs the scoring now (POST /contests/{CONTEST_ID}/scoring, what the schedule does every few minutes): the contest-scoring workflow reads the new deals by cursor and publishes a leaderboard snapshot"
        ),
    )
    .await?;
    show_scalp(demo, &field.farah, scalp).await?;
    show_deposit(demo, local, &field.goran).await?;
    show_drawdown(demo, &field.hana).await?;
    demo.say(&format!(
        "The public leaderboard (GET {board}, no token): ranked by return, names and logins masked, the disqualified last"
    ));
    print_board(demo, &board, &field).await?;
    final_run(demo, local, clock, &contest, &field).await
}

/// Marketing stores the contest, scored by return from five minutes on, and an admin publishes
/// it: the contest as stored.
async fn publish(demo: &mut Demo, clock: &AheadClock) -> Result<Value, String> {
    let now = whole_second(clock.now());
    let contest = json!({
        "id": CONTEST_ID, "version": 1, "name": "Demo Cup", "mode": "live", "currency": "USD",
        "registration": { "from": rfc3339(now - Duration::minutes(1)),
                          "until": rfc3339(now + Duration::hours(1)) },
        "period": { "from": rfc3339(now + Duration::minutes(5)),
                    "until": rfc3339(now + Duration::hours(3)) },
        "metric": { "kind": "return" },
        "rules": { "min_trades": 1, "min_hold_seconds": 60, "disqualify_drawdown": DRAWDOWN_LIMIT },
        "prizes": { "payment": { "kind": "cash" },
                    "tiers": [ { "from_rank": 1, "to_rank": 1, "amount": "300.00" },
                               { "from_rank": 2, "to_rank": 2, "amount": "200.00" },
                               { "from_rank": 3, "to_rank": 3, "amount": "100.00" } ] }
    });
    demo.say("Marketing stores a contest: return net of cash flows, trades held under 60 s do not count, a drawdown over 25 % disqualifies, cash prizes for ranks 1-3");
    println!(
        "   period {} to {}; metric {}; rules {}; prizes {} paid as {}",
        text(&contest["period"]["from"]),
        text(&contest["period"]["until"]),
        contest["metric"],
        contest["rules"],
        contest["prizes"]["tiers"],
        contest["prizes"]["payment"]
    );
    let marketing = demo.token("mkt-1", Role::Marketing);
    let stored = demo
        .expect(Call::post("/contests", &contest).token(&marketing), 201)
        .await?;
    for version in stored["versions"].as_array().into_iter().flatten() {
        println!(
            "   {} v{} {} by {} (sha256 {}…)",
            text(&stored["id"]),
            version["version"],
            text(&stored["status"]),
            text(&version["by"]),
            text(&version["sha256"]).get(..12).unwrap_or("")
        );
    }
    demo.say("An admin publishes it: registration opens");
    let admin = demo.token("admin-1", Role::Admin);
    let published = demo
        .expect(
            Call::post(&format!("/contests/{CONTEST_ID}/publish"), &json!({})).token(&admin),
            200,
        )
        .await?;
    println!(
        "   {} by {}",
        text(&published["status"]),
        text(&published["published_by"])
    );
    Ok(contest)
}

/// Five clients register in the portal, are onboarded, funded on the simulated platform and
/// enter the contest with their trading account.
async fn enter(demo: &mut Demo, local: &LocalBrokerOs) -> Result<Field, String> {
    demo.say(&format!(
        "Five clients register in the portal, are onboarded, get {STAKE} USD on their trading account and enter (POST /contests/{CONTEST_ID}/entries)"
    ));
    Ok(Field {
        farah: entered(demo, local, &FARAH).await?,
        goran: entered(demo, local, &GORAN).await?,
        hana: entered(demo, local, &HANA).await?,
        ivo: entered(demo, local, &IVO).await?,
        jonas: entered(demo, local, &JONAS).await?,
    })
}

/// `person` registers in the portal, is onboarded, gets [`STAKE`] on their trading account and
/// enters the contest with it.
async fn entered(demo: &Demo, local: &LocalBrokerOs, person: &Person) -> Result<Entrant, String> {
    let first_name = person.first_name;
    let (client_id, token, login) = client(demo, local, person).await?;
    fund(local, login, &format!("contest-stake-{login}"), STAKE).await?;
    let entry = demo
        .expect(
            Call::post(
                &format!("/contests/{CONTEST_ID}/entries"),
                &json!({ "login": login }),
            )
            .token(&token),
            201,
        )
        .await?;
    println!(
        "   {first_name} entered with login {login}: entry {}, opening balance {}",
        text(&entry["id"]),
        text(&entry["opening_balance"])
    );
    Ok(Entrant {
        first_name,
        client_id,
        token,
        login,
        entry: text(&entry["id"]),
    })
}

/// The entrants trade as the demo's clock moves on: Farah a trade and a scalp, Goran, Ivo and
/// Jonas one trade each, Hana big trades until her drawdown passes the limit. Answers the
/// scalp's closing deal.
async fn trade(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
    field: &Field,
) -> Result<PlatformDeal, String> {
    demo.say(&format!(
        "The contest has started; the entrants trade on the simulated platform (the demo's clock runs from {})",
        rfc3339(whole_second(clock.now()))
    ));
    let mut trades = Trades::new(local, clock);
    // Each entrant's 0.5 lots, held `held`, then a minute before the next trade.
    let mut round_trip = async |label: &str,
                                who: &Entrant,
                                symbol: &str,
                                side: DealSide,
                                held: Duration|
           -> Result<PlatformDeal, String> {
        let open = trades
            .open(who.first_name, who.login, symbol, side, "0.5")
            .await?;
        clock.advance(held);
        let close = trades.close(label, who.login, &open, "0.5").await?;
        clock.advance(Duration::minutes(1));
        Ok(close)
    };
    round_trip(
        "Farah's trade",
        &field.farah,
        "EURUSD",
        DealSide::Buy,
        Duration::minutes(5),
    )
    .await?;
    let scalp = round_trip(
        "Farah's scalp",
        &field.farah,
        "EURUSD",
        DealSide::Sell,
        Duration::seconds(30),
    )
    .await?;
    round_trip(
        "Goran's trade",
        &field.goran,
        "GBPUSD",
        DealSide::Sell,
        Duration::minutes(4),
    )
    .await?;
    round_trip(
        "Ivo's trade",
        &field.ivo,
        "XAUUSD",
        DealSide::Buy,
        Duration::minutes(3),
    )
    .await?;
    round_trip(
        "Jonas's trade",
        &field.jonas,
        "AUDUSD",
        DealSide::Sell,
        Duration::minutes(4),
    )
    .await?;
    overtrade(demo, local, clock, &field.hana).await?;
    Ok(scalp)
}

/// Hana trades 5 lots at a time, each held two minutes, until her losses from her best
/// balance pass the contest's drawdown limit. The market is the simulator's, deterministic
/// but not known to the demo ahead: she turns after a trade that made money (the market went
/// her way, so the other way is where the spread and the commission add to the loss) and
/// stops once the deals' results put her drawdown past the limit, as the scoring will read
/// them. Fails if [`RECKLESS_TRADES`] never get there.
async fn overtrade(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
    hana: &Entrant,
) -> Result<(), String> {
    let limit = parse(DRAWDOWN_LIMIT)?;
    demo.say(&format!(
        "Hana trades {RECKLESS_LOTS} lots at a time, two minutes each, and keeps going against the market until her drawdown passes {}",
        percent(limit)
    ));
    let mut trades = Trades::new(local, clock);
    let stake = parse(STAKE)?;
    let (mut equity, mut peak) = (stake, stake);
    let mut side = DealSide::Buy;
    for n in 1..=RECKLESS_TRADES {
        let open = trades
            .open(hana.first_name, hana.login, "EURUSD", side, RECKLESS_LOTS)
            .await?;
        clock.advance(Duration::minutes(2));
        let close = trades
            .close(
                &format!("Hana's trade {n}"),
                hana.login,
                &open,
                RECKLESS_LOTS,
            )
            .await?;
        clock.advance(Duration::minutes(1));
        let net = close.profit + close.commission + close.swap + open.commission;
        equity += net;
        peak = peak.max(equity);
        let drawdown = ((peak - equity) / peak).round_dp(8);
        println!(
            "     net after commissions {net}: balance {equity}, {} below its best {peak}",
            percent(drawdown)
        );
        if drawdown > limit {
            println!(
                "   Hana stops: {} down from her best balance, past the contest's {}",
                percent(drawdown),
                percent(limit)
            );
            return Ok(());
        }
        if net > Decimal::ZERO {
            side = match side {
                DealSide::Buy => DealSide::Sell,
                DealSide::Sell => DealSide::Buy,
            };
        }
    }
    Err(format!(
        "Hana's {RECKLESS_TRADES} trades never took her drawdown past {DRAWDOWN_LIMIT}"
    ))
}

/// Marketing runs the scoring now, saying `why`, and waits for the run to finish.
async fn score_now(demo: &mut Demo, local: &LocalBrokerOs, why: &str) -> Result<(), String> {
    demo.say(why);
    let marketing = demo.token("mkt-1", Role::Marketing);
    let started = demo
        .expect(
            Call::post(&format!("/contests/{CONTEST_ID}/scoring"), &json!({})).token(&marketing),
            202,
        )
        .await?;
    let execution = text(&started["execution"]);
    let done = finished(local, &execution).await?;
    print_states(local, &execution).await?;
    println!("   {:?}", done.status);
    if done.status != ExecutionStatus::Succeeded {
        return Err(format!("the scoring run ended {:?}", done.status));
    }
    Ok(())
}

/// `who`'s score with its explanation, as they read it.
async fn score_of(demo: &Demo, who: &Entrant) -> Result<Value, String> {
    demo.expect(
        Call::get(&format!(
            "/contests/{CONTEST_ID}/entries/{}/score",
            who.entry
        ))
        .token(&who.token),
        200,
    )
    .await
}

/// Farah reads her score: the trade she held counts, the scalp does not.
async fn show_scalp(demo: &mut Demo, farah: &Entrant, scalp: PlatformDeal) -> Result<(), String> {
    demo.say(&format!(
        "Farah reads her score's explanation: her scalp (deal {}) was held under the contest's 60 s, so it does not count",
        scalp.deal
    ));
    let score = score_of(demo, farah).await?;
    let why = &score["explanation"];
    for trade in why["counted"].as_array().into_iter().flatten() {
        println!(
            "   counted: deal {} {} {} {} lots, held {}, net {}, growth index after {}",
            trade["deal"],
            text(&trade["symbol"]),
            text(&trade["side"]),
            amount(&trade["volume"]),
            held(trade)?,
            text(&trade["net"]),
            amount(&trade["index_after"])
        );
    }
    for trade in why["excluded"].as_array().into_iter().flatten() {
        println!(
            "   excluded: deal {} {} {} lots, held {}, net {} (in her balance, not her return): {}",
            trade["deal"],
            text(&trade["symbol"]),
            amount(&trade["volume"]),
            held(trade)?,
            text(&trade["net"]),
            text(&trade["reason"])
        );
    }
    println!(
        "   Farah: return {} over {} counted trade(s), {} excluded",
        amount(&why["score"]["return"]),
        why["score"]["trades"],
        why["score"]["excluded_trades"]
    );
    Ok(())
}

/// Goran deposits after his trade; a second scoring run shows his return where it was.
async fn show_deposit(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    goran: &Entrant,
) -> Result<(), String> {
    demo.say("Goran deposits 500.00 USD after his trade: the return is time-weighted, so money in neither raises nor lowers it");
    let before = score_of(demo, goran).await?;
    println!(
        "   before the deposit: return {}, equity {}",
        amount(&before["explanation"]["score"]["return"]),
        text(&before["explanation"]["final_equity"])
    );
    fund(
        local,
        goran.login,
        &format!("contest-top-up-{}", goran.login),
        "500.00",
    )
    .await?;
    score_now(
        demo,
        local,
        "Marketing runs the scoring again: the deposit is a new deal of Goran's account",
    )
    .await?;
    let after = score_of(demo, goran).await?;
    let why = &after["explanation"];
    for flow in why["cash_flows"].as_array().into_iter().flatten() {
        println!(
            "   cash flow {} {}: equity {} -> {}, growth index {} carried over",
            text(&flow["kind"]),
            text(&flow["amount"]),
            text(&flow["equity_before"]),
            text(&flow["equity_after"]),
            amount(&flow["index"])
        );
    }
    println!(
        "   after the deposit: return {}, equity {}",
        amount(&why["score"]["return"]),
        text(&why["final_equity"])
    );
    Ok(())
}

/// Hana reads her score: disqualified by the drawdown rule.
async fn show_drawdown(demo: &mut Demo, hana: &Entrant) -> Result<(), String> {
    demo.say("Hana reads her score: the rules disqualify her drawdown");
    let score = score_of(demo, hana).await?;
    let why = &score["explanation"];
    let path: Vec<String> = why["equity_path"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|mark| text(&mark["equity"]))
        .collect();
    println!(
        "   equity after each counted trade: {} -> {}",
        text(&why["starting_equity"]),
        path.join(" -> ")
    );
    println!(
        "   Hana: max drawdown {} (limit {DRAWDOWN_LIMIT}), return {}: {}, rank {}",
        amount(&why["score"]["max_drawdown"]),
        amount(&why["score"]["return"]),
        text(&score["standing"]),
        rank_text(&score["rank"])
    );
    Ok(())
}

/// The public leaderboard, one row per entrant.
async fn print_board(demo: &Demo, path: &str, field: &Field) -> Result<Value, String> {
    let board = demo.expect(Call::get(path), 200).await?;
    println!(
        "   snapshot {}, {} entrants, final: {}",
        board["snapshot"], board["entrants"], board["final"]
    );
    let names = field.names();
    for row in board["items"].as_array().into_iter().flatten() {
        let entrant = text(&row["entrant"]);
        println!(
            "   {:<4} {:<10} {} {} {:<18} return {:>11} profit {:>9} trades {}   ({})",
            rank_text(&row["rank"]),
            text(&row["name"]),
            text(&row["login"]),
            text(&row["country"]),
            text(&row["status"]),
            amount(&row["return"]),
            text(&row["profit"]),
            row["trades"],
            names.get(&entrant).copied().unwrap_or("?")
        );
    }
    Ok(board)
}

/// The contest ends; the schedule starts its final run, which proposes the prizes; the
/// publisher may not approve them, finance does; the run pays each winner's wallet.
async fn final_run(
    demo: &mut Demo,
    local: &LocalBrokerOs,
    clock: &AheadClock,
    contest: &Value,
    field: &Field,
) -> Result<(), String> {
    let grace = local.services.contests.config.freeze_after_seconds;
    let until = at(&contest["period"]["until"])?;
    clock.advance_to(until + Duration::seconds(i64::from(grace) + 1));
    demo.say(&format!(
        "The contest ended at {}; {grace} s later (contests.freeze_after_seconds, for late deals) the schedule starts the final run: freeze, full recompute, prizes proposed",
        rfc3339(until)
    ));
    let started = brokeros_contests::tasks::start_scheduled(&local.services.contests)
        .await
        .map_err(|e| e.to_string())?;
    let [execution] = started.as_slice() else {
        return Err(format!(
            "the schedule started {started:?}, not one final run"
        ));
    };
    println!("   workflow {execution}");
    waiting_for_decision(local, execution).await?;
    let finance = demo.token("finance-1", Role::Finance);
    let prizes_path = format!("/contests/{CONTEST_ID}/prizes");
    let round = demo
        .expect(Call::get(&prizes_path).token(&finance), 200)
        .await?;
    let names = field.names();
    println!(
        "   prizes {} by {}: {} USD in all",
        text(&round["status"]),
        text(&round["requested_by"]),
        text(&round["proposal"]["total"])
    );
    let awards = round["proposal"]["awards"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for award in &awards {
        println!(
            "   rank {}: {} ({}) {} USD, transfer {}",
            award["rank"],
            names.get(&text(&award["entrant"])).copied().unwrap_or("?"),
            text(&award["entrant"]),
            text(&award["amount"]),
            text(&award["transfer_id"])
        );
    }
    print_board(demo, &format!("/contests/{CONTEST_ID}/leaderboard"), field).await?;

    demo.say("Maker-checker: admin-1 published the contest, so the prizes are proposed in their name and they may not approve them; finance-1 approves");
    let decision = format!("/contests/{CONTEST_ID}/prizes/decision");
    let admin = demo.token("admin-1", Role::Admin);
    let (status, refused) = demo
        .send(Call::post(&decision, &json!({ "approve": true })).token(&admin))
        .await;
    println!(
        "   admin-1 refused ({status}): {}",
        text(&refused["message"])
    );
    let approved = demo
        .expect(
            Call::post(&decision, &json!({ "approve": true })).token(&finance),
            200,
        )
        .await?;
    println!("   finance-1: prizes {}", text(&approved["status"]));
    let done = finished(local, execution).await?;
    print_states(local, execution).await?;
    let marketing = demo.token("mkt-1", Role::Marketing);
    let record = demo
        .expect(
            Call::get(&format!("/marketing/contests/{CONTEST_ID}")).token(&marketing),
            200,
        )
        .await?;
    println!(
        "   {:?}: contest {} {}",
        done.status,
        CONTEST_ID,
        text(&record["status"])
    );

    demo.say("Each winner reads their wallet: it holds the prize");
    for award in &awards {
        let Some(winner) = field
            .all()
            .into_iter()
            .find(|e| award["entrant"] == json!(e.entry))
        else {
            return Err(format!("{award} goes to no entrant of the chapter"));
        };
        let wallet = demo
            .expect(
                Call::get(&format!("/clients/{}/wallet", winner.client_id)).token(&winner.token),
                200,
            )
            .await?;
        let usd = wallet["wallets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["currency"] == "USD");
        println!(
            "   rank {} {}: wallet holds {} USD = prize {}",
            award["rank"],
            winner.first_name,
            usd.map_or_else(|| "nothing".into(), |w| text(&w["available"])),
            text(&award["amount"])
        );
    }
    if done.status != ExecutionStatus::Succeeded {
        return Err(format!("the final run ended {:?}", done.status));
    }
    Ok(())
}

/// Waits (up to ten seconds) until the final run's approval task waits on its token, so the
/// decision answers a task that is waiting for it.
async fn waiting_for_decision(local: &LocalBrokerOs, execution: &str) -> Result<(), String> {
    for _ in 0..200 {
        let history = local
            .engine
            .get_execution_history(execution)
            .await
            .map_err(|e| e.to_string())?;
        if history
            .iter()
            .any(|e| e.event_type == EventType::TaskSubmitted)
        {
            return Ok(());
        }
        let run = local
            .engine
            .describe_execution(execution)
            .await
            .map_err(|e| e.to_string())?;
        if run.status != ExecutionStatus::Running {
            print_states(local, execution).await?;
            return Err(format!(
                "the final run ended {:?} before proposing prizes",
                run.status
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(format!("{execution} never waited for the prizes' approval"))
}

/// How long a trade of an explanation was held.
fn held(trade: &Value) -> Result<String, String> {
    let held = at(&trade["closed_at"])? - at(&trade["opened_at"])?;
    Ok(held_text(held.whole_milliseconds() as i64))
}

fn at(value: &Value) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(&text(value), &Rfc3339).map_err(|e| format!("{value}: {e}"))
}

fn percent(fraction: Decimal) -> String {
    format!(
        "{} %",
        (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize()
    )
}

/// `#3`, or `-` for an entrant the ranking leaves out.
fn rank_text(rank: &Value) -> String {
    rank.as_u64()
        .map_or_else(|| "-".to_string(), |rank| format!("#{rank}"))
}
