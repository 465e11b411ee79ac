//! The provider port as both dialects hold it: authentication, the time window, headers,
//! payload parsing and round trips through the simulator side.

use time::macros::datetime;

use super::simcard::tests::{CARD_BODY, card};
use super::simcrypto::tests::{CRYPTO_BODY, crypto};
use super::testing::{NOW, event, money, parse, secret, signed};
use super::*;
use crate::model::events::{PaymentEvent, PaymentEventKind};

fn header(headers: &[(String, String)], name: &str) -> String {
    headers.iter().find(|(k, _)| k == name).unwrap().1.clone()
}

fn replace_header(headers: &mut [(String, String)], name: &str, value: String) {
    headers.iter_mut().find(|(k, _)| k == name).unwrap().1 = value;
}

fn providers() -> Vec<Box<dyn PaymentProvider>> {
    vec![Box::new(card()), Box::new(crypto())]
}

#[test]
fn secrets_are_redacted_and_not_too_short() {
    let s = secret("card-acquirer-secret-1");
    assert_eq!(format!("{s:?}"), "WebhookSecret(<redacted>)");
    for provider in providers() {
        let debug = format!("{provider:?}");
        assert!(
            !debug.contains("secret-1") && !debug.contains("processor-secret"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>"), "{debug}");
    }
    assert!(WebhookSecret::new(b"short".to_vec()).is_err());
    assert!(WebhookSecret::new(vec![7u8; MIN_SECRET_BYTES]).is_ok());
}

#[test]
fn provider_names_and_confirmations_are_checked() {
    assert!(CardAcquirer::new("Card Acquirer", secret("card-acquirer-secret-1")).is_err());
    assert!(CardAcquirer::new("", secret("card-acquirer-secret-1")).is_err());
    assert!(CryptoProcessor::new("c", secret("crypto-processor-secret"), 0).is_err());
}

// --- Authentication -----------------------------------------------------------------------

#[test]
fn valid_signatures_are_accepted_by_both_providers() {
    for provider in providers() {
        let e = event(
            provider.name(),
            PaymentEventKind::Succeeded,
            money("100.50", "USDT"),
        );
        let delivery = provider.deliver(&e, NOW).unwrap();
        assert_eq!(
            provider.verify_and_parse(&delivery.headers, &delivery.body, NOW),
            Ok(e),
            "{}",
            provider.name()
        );
    }
}

#[test]
fn forged_tampered_and_wrongly_keyed_deliveries_are_rejected() {
    let other_card = CardAcquirer::new("simcard", secret("another-secret-entirely")).unwrap();
    let other_crypto =
        CryptoProcessor::new("simcrypto", secret("another-secret-entirely"), 12).unwrap();
    let pairs: [(Box<dyn PaymentProvider>, Box<dyn PaymentProvider>); 2] = [
        (Box::new(card()), Box::new(other_card)),
        (Box::new(crypto()), Box::new(other_crypto)),
    ];
    for (provider, impostor) in pairs {
        let e = event(
            provider.name(),
            PaymentEventKind::Succeeded,
            money("10", "EUR"),
        );
        let body = provider.render(&e).unwrap();

        // Signed with another secret.
        let forged = impostor.sign(&body, NOW.unix_timestamp());
        assert_eq!(
            provider.verify_and_parse(&forged, &body, NOW),
            Err(WebhookError::BadSignature)
        );

        // The body changed after signing (the amount raised by one unit).
        let headers = signed(provider.as_ref(), &body, NOW);
        let text = String::from_utf8(body.clone()).unwrap();
        let tampered = if text.contains("\"value\":1000") {
            text.replace("\"value\":1000", "\"value\":1001")
        } else {
            text.replace("\"10.00\"", "\"10.01\"")
        };
        assert_ne!(tampered, text);
        assert_eq!(
            provider.verify_and_parse(&headers, tampered.as_bytes(), NOW),
            Err(WebhookError::BadSignature)
        );

        // The timestamp changed after signing (to make an old delivery look fresh).
        let old = signed(provider.as_ref(), &body, NOW - time::Duration::hours(1));
        let moved: Vec<(String, String)> = old
            .iter()
            .map(|(k, v)| {
                let old_t = (NOW - time::Duration::hours(1))
                    .unix_timestamp()
                    .to_string();
                (
                    k.clone(),
                    v.replace(&old_t, &NOW.unix_timestamp().to_string()),
                )
            })
            .collect();
        assert_ne!(moved, old);
        assert_eq!(
            provider.verify_and_parse(&moved, &body, NOW),
            Err(WebhookError::BadSignature)
        );

        // A made-up signature of the right form (64 hex digits after `v1=`).
        let made_up: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| match v.find("v1=") {
                Some(at) => (k.clone(), format!("{}v1={}", &v[..at], "ab".repeat(32))),
                None => (k.clone(), v.clone()),
            })
            .collect();
        assert_ne!(made_up, headers);
        assert_eq!(
            provider.verify_and_parse(&made_up, &body, NOW),
            Err(WebhookError::BadSignature)
        );
    }
}

#[test]
fn the_tolerance_is_five_minutes_either_way() {
    for provider in providers() {
        let e = event(
            provider.name(),
            PaymentEventKind::Pending,
            money("1", "USD"),
        );
        let body = provider.render(&e).unwrap();
        let at = |offset: i64| {
            signed(
                provider.as_ref(),
                &body,
                NOW + time::Duration::seconds(offset),
            )
        };
        assert!(provider.verify_and_parse(&at(-300), &body, NOW).is_ok());
        assert!(provider.verify_and_parse(&at(300), &body, NOW).is_ok());
        assert_eq!(
            provider.verify_and_parse(&at(-301), &body, NOW),
            Err(WebhookError::Expired { age_seconds: 301 })
        );
        assert_eq!(
            provider.verify_and_parse(&at(-86_400), &body, NOW),
            Err(WebhookError::Expired {
                age_seconds: 86_400
            })
        );
        assert_eq!(
            provider.verify_and_parse(&at(301), &body, NOW),
            Err(WebhookError::NotYetValid { ahead_seconds: 301 })
        );
        // A replay of a valid delivery, six minutes later.
        let fresh = at(0);
        assert!(provider.verify_and_parse(&fresh, &body, NOW).is_ok());
        assert!(matches!(
            provider.verify_and_parse(&fresh, &body, NOW + time::Duration::minutes(6)),
            Err(WebhookError::Expired { .. })
        ));
    }
}

#[test]
fn missing_and_malformed_headers_are_rejected() {
    let card = card();
    let e = event("simcard", PaymentEventKind::Succeeded, money("5", "GBP"));
    let body = card.render(&e).unwrap();
    let good = card.sign(&body, NOW.unix_timestamp());
    let without = |name: &str| -> Vec<(String, String)> {
        good.iter().filter(|(k, _)| k != name).cloned().collect()
    };
    assert_eq!(
        card.verify_and_parse(&without(CARD_TIMESTAMP_HEADER), &body, NOW),
        Err(WebhookError::MissingHeader {
            header: CARD_TIMESTAMP_HEADER
        })
    );
    assert_eq!(
        card.verify_and_parse(&without(CARD_SIGNATURE_HEADER), &body, NOW),
        Err(WebhookError::MissingHeader {
            header: CARD_SIGNATURE_HEADER
        })
    );
    for bad_timestamp in [
        "",
        "-1",
        "+1795514400",
        "1795514400.5",
        "17955108OO",
        "9999999999999",
    ] {
        let mut h = good.clone();
        replace_header(&mut h, CARD_TIMESTAMP_HEADER, bad_timestamp.into());
        assert_eq!(
            card.verify_and_parse(&h, &body, NOW),
            Err(WebhookError::MalformedHeader {
                header: CARD_TIMESTAMP_HEADER
            }),
            "{bad_timestamp:?}"
        );
    }
    let signature = header(&good, CARD_SIGNATURE_HEADER);
    let mut h = good.clone();
    replace_header(
        &mut h,
        CARD_SIGNATURE_HEADER,
        signature.replace("v1=", "sha256="),
    );
    assert_eq!(
        card.verify_and_parse(&h, &body, NOW),
        Err(WebhookError::MalformedHeader {
            header: CARD_SIGNATURE_HEADER
        })
    );
    // Repeated headers are not guessed at; header names are case-insensitive.
    let mut repeated = good.clone();
    repeated.push((CARD_SIGNATURE_HEADER.to_uppercase(), signature.clone()));
    assert_eq!(
        card.verify_and_parse(&repeated, &body, NOW),
        Err(WebhookError::MalformedHeader {
            header: CARD_SIGNATURE_HEADER
        })
    );
    let upper: Vec<(String, String)> = good
        .iter()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    assert!(card.verify_and_parse(&upper, &body, NOW).is_ok());
    // During a secret rotation a provider sends two signatures: either may match, at most 5.
    let mut rotated = good.clone();
    replace_header(
        &mut rotated,
        CARD_SIGNATURE_HEADER,
        format!("v1={}, {signature}", "00".repeat(32)),
    );
    assert!(card.verify_and_parse(&rotated, &body, NOW).is_ok());
    let mut many = good.clone();
    replace_header(
        &mut many,
        CARD_SIGNATURE_HEADER,
        [signature.as_str(); 6].join(","),
    );
    assert_eq!(
        card.verify_and_parse(&many, &body, NOW),
        Err(WebhookError::MalformedHeader {
            header: CARD_SIGNATURE_HEADER
        })
    );

    let crypto = crypto();
    let e = event("simcrypto", PaymentEventKind::Succeeded, money("5", "USDT"));
    let body = crypto.render(&e).unwrap();
    let good = crypto.sign(&body, NOW.unix_timestamp());
    let value = header(&good, CRYPTO_SIGNATURE_HEADER);
    let (t, v1) = value.split_once(',').unwrap();
    for bad in [
        v1.to_string(),                 // no t=
        t.to_string(),                  // no v1=
        format!("{t},{t},{v1}"),        // t= twice
        format!("{t};{v1}"),            // wrong separator
        format!("{t},v2={}", &v1[3..]), // unknown scheme
        format!("t=yesterday,{v1}"),    // not Unix seconds
    ] {
        let mut h = good.clone();
        replace_header(&mut h, CRYPTO_SIGNATURE_HEADER, bad.clone());
        assert_eq!(
            crypto.verify_and_parse(&h, &body, NOW),
            Err(WebhookError::MalformedHeader {
                header: CRYPTO_SIGNATURE_HEADER
            }),
            "{bad}"
        );
    }
    assert_eq!(
        crypto.verify_and_parse(&Vec::<(String, String)>::new(), &body, NOW),
        Err(WebhookError::MissingHeader {
            header: CRYPTO_SIGNATURE_HEADER
        })
    );
    // Another provider's headers do not authenticate this one.
    let card_headers = card.sign(&body, NOW.unix_timestamp());
    assert!(matches!(
        crypto.verify_and_parse(&card_headers, &body, NOW),
        Err(WebhookError::MissingHeader { .. })
    ));
}

#[test]
fn both_payload_shapes_parse_to_the_same_event() {
    let from_card = parse(&card(), CARD_BODY).unwrap();
    let from_crypto = parse(&crypto(), CRYPTO_BODY).unwrap();
    let expected = PaymentEvent {
        provider: "simcard".into(),
        event_id: "evt_card_1".into(),
        deposit_id: "dep_42".into(),
        kind: PaymentEventKind::Succeeded,
        amount: money("100.5", "USDT"),
        occurred_at: datetime!(2026-11-24 09:59:30 UTC),
        provider_transaction_id: "pay_9f".into(),
    };
    assert_eq!(from_card, expected);
    assert_eq!(from_card.amount.amount().to_string(), "100.500000");
    assert_eq!(
        from_crypto,
        PaymentEvent {
            provider: "simcrypto".into(),
            ..expected
        }
    );
}

#[test]
fn unknown_event_types_are_ignorable_but_still_authenticated() {
    let card = card();
    let dispute =
        r#"{"id": "evt_d1", "type": "dispute.created", "data": {"dispute": {"id": "dp_1"}}}"#;
    assert_eq!(
        parse(&card, dispute),
        Err(WebhookError::Ignored {
            event_type: "dispute.created".into()
        })
    );
    let crypto = crypto();
    let other = r#"{"event_id": "e1", "type": "payout.sent", "anything": [1, 2]}"#;
    assert_eq!(
        parse(&crypto, other),
        Err(WebhookError::Ignored {
            event_type: "payout.sent".into()
        })
    );
    // Unsigned, an unknown type is just a bad delivery.
    let headers = card.sign(b"something else", NOW.unix_timestamp());
    assert_eq!(
        card.verify_and_parse(&headers, dispute.as_bytes(), NOW),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn wrong_types_and_forms_are_malformed() {
    let card = card();
    for bad in [
        CARD_BODY.replace("100500000", "100.5"),
        CARD_BODY.replace("100500000", "\"100500000\""),
        CARD_BODY.replace("100500000", "1e8"),
        CARD_BODY.replace("1795514370", "\"1795514370\""),
        CARD_BODY.replace("1795514370", "99999999999999999"),
        CARD_BODY.replace(r#""merchant_reference": "dep_42","#, ""),
        CARD_BODY.replace("\"dep_42\"", "\"dep 42\""),
        CARD_BODY.replace("\"dep_42\"", "42"),
        CARD_BODY.replace("\"pay_9f\"", "\"\""),
        CARD_BODY.replace("\"evt_card_1\"", "\"evt/1\""),
        "not json".to_string(),
        "[]".to_string(),
    ] {
        assert!(
            matches!(parse(&card, &bad), Err(WebhookError::Malformed { .. })),
            "{bad}: {:?}",
            parse(&card, &bad)
        );
    }
    let crypto = crypto();
    for bad in [
        CRYPTO_BODY.replace("\"100.5\"", "100.5"),
        CRYPTO_BODY.replace("\"confirmations\": 12", "\"confirmations\": -1"),
        CRYPTO_BODY.replace("\"confirmations\": 12", "\"confirmations\": \"12\""),
        CRYPTO_BODY.replace("2026-11-24T09:59:30Z", "yesterday"),
        CRYPTO_BODY.replace("\"pay_9f\"", "\"0x 12\""),
    ] {
        assert!(
            matches!(parse(&crypto, &bad), Err(WebhookError::Malformed { .. })),
            "{bad}: {:?}",
            parse(&crypto, &bad)
        );
    }
}

#[test]
fn unbookable_amounts_and_unknown_currencies_are_refused() {
    let card = card();
    let crypto = crypto();
    let code = |r: Result<PaymentEvent, WebhookError>| match r {
        Err(WebhookError::InvalidAmount { code, .. }) => code,
        other => panic!("expected InvalidAmount, got {other:?}"),
    };
    // Amount text outside the one grammar (`brokeros_kernel::money::amount`); a card amount is
    // a JSON integer, whose grammar JSON's own already is (`1e8`, `100.5`: malformed above).
    for text in [
        "1e2", "+100.5", " 100.5", "1_000", "100.", ".5", "", "00100.5", "0x64", "1,000",
    ] {
        let body = CRYPTO_BODY.replace("\"100.5\"", &format!("\"{text}\""));
        assert_eq!(code(parse(&crypto, &body)), "invalid_amount", "{text:?}");
    }
    // A minus sign is in the grammar; a negative payment is not positive.
    assert_eq!(
        code(parse(&crypto, &CRYPTO_BODY.replace("100.5", "-100.5"))),
        "amount_not_positive"
    );
    // More decimals than the currency has: USDT has 6, BTC 8, EUR 2.
    assert_eq!(
        code(parse(&crypto, &CRYPTO_BODY.replace("100.5", "100.0000001"))),
        "amount_too_precise"
    );
    assert_eq!(
        code(parse(
            &crypto,
            &CRYPTO_BODY
                .replace("100.5", "0.000000001")
                .replace("\"USDT\"", "\"BTC\"")
        )),
        "amount_too_precise"
    );
    assert_eq!(
        code(parse(
            &crypto,
            &CRYPTO_BODY
                .replace("100.5", "1.005")
                .replace("\"USDT\"", "\"EUR\"")
        )),
        "amount_too_precise"
    );
    // Trailing zeros are not precision.
    assert_eq!(
        parse(&crypto, &CRYPTO_BODY.replace("100.5", "100.500000000"))
            .unwrap()
            .amount,
        money("100.5", "USDT")
    );
    // Currencies Broker OS does not book, or written otherwise than the table.
    assert_eq!(
        code(parse(&crypto, &CRYPTO_BODY.replace("\"USDT\"", "\"DOGE\""))),
        "unknown_currency"
    );
    assert_eq!(
        code(parse(&crypto, &CRYPTO_BODY.replace("\"USDT\"", "\"usdt\""))),
        "unknown_currency"
    );
    assert_eq!(
        code(parse(&card, &CARD_BODY.replace("\"USDT\"", "\"XYZ\""))),
        "unknown_currency"
    );
    // Zero, negative, too large.
    assert_eq!(
        code(parse(&card, &CARD_BODY.replace("100500000", "0"))),
        "amount_not_positive"
    );
    assert_eq!(
        code(parse(&card, &CARD_BODY.replace("100500000", "-100"))),
        "amount_not_positive"
    );
    assert_eq!(
        code(parse(&crypto, &CRYPTO_BODY.replace("100.5", "0.000000"))),
        "amount_not_positive"
    );
    assert_eq!(
        code(parse(
            &crypto,
            &CRYPTO_BODY.replace("100.5", "1000000000000001")
        )),
        "amount_too_large"
    );
    let error = brokeros_kernel::Error::from(
        parse(&card, &CARD_BODY.replace("\"USDT\"", "\"XYZ\"")).unwrap_err(),
    );
    assert!(matches!(
        error,
        brokeros_kernel::Error::Validation {
            code: "unknown_currency",
            ..
        }
    ));
}

#[test]
fn every_kind_round_trips_through_both_shapes() {
    for provider in providers() {
        for kind in [
            PaymentEventKind::Succeeded,
            PaymentEventKind::Pending,
            PaymentEventKind::Refunded,
            PaymentEventKind::Declined {
                reason: "do_not_honor".into(),
            },
        ] {
            for amount in [
                money("0.01", "EUR"),
                money("1500", "JPY"),
                money("0.00012345", "BTC"),
            ] {
                let e = event(provider.name(), kind.clone(), amount);
                let d = provider.deliver(&e, NOW).unwrap();
                assert_eq!(provider.verify_and_parse(&d.headers, &d.body, NOW), Ok(e));
            }
        }
    }
}
