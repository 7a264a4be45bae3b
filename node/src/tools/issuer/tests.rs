//! Tests of the issuing library (pending files, resume, formats).

use super::*;

#[test]
fn times_parse_in_every_accepted_form() {
    let now = 1_800_000_000;
    assert_eq!(parse_time("now", now).unwrap(), now);
    assert_eq!(parse_time("+90", now).unwrap(), now + 90);
    assert_eq!(parse_time("+2m", now).unwrap(), now + 120);
    assert_eq!(parse_time("-1h", now).unwrap(), now - 3600);
    assert_eq!(parse_time("+1d", now).unwrap(), now + 86_400);
    assert_eq!(parse_time("1767225600", now).unwrap(), 1_767_225_600);
    assert_eq!(parse_time("2026-01-01T00:00:00Z", now).unwrap(), 1_767_225_600);
    assert_eq!(parse_time("2026-01-01", now).unwrap(), 1_767_225_600);
    for bad in ["", "+", "+5y", "yesterday", "2026-13-01", "+99999999999999999999d"] {
        let e = parse_time(bad, now).unwrap_err();
        assert_eq!(exit_code(&e), EXIT_INPUT, "{bad}");
    }
    assert_eq!(format_time(1_767_225_600), "2026-01-01T00:00:00Z");
}

#[test]
fn keys_types_reasons_and_ids_parse() {
    let k = SecretKey::from_seed(&[7; 32]).public_key();
    assert_eq!(parse_public_key(&hex::encode(k.0)).unwrap(), k);
    assert_eq!(parse_public_key(&URL_SAFE_NO_PAD.encode(k.0)).unwrap(), k);
    assert_eq!(parse_public_key(&didkey::did_key(&k)).unwrap(), k);
    assert_eq!(exit_code(&parse_public_key("nope").unwrap_err()), EXIT_INPUT);
    assert_eq!(parse_type("diploma").unwrap().id, profiles::DIPLOMA.id);
    assert_eq!(parse_type(profiles::DIPLOMA.id).unwrap().id, profiles::DIPLOMA.id);
    assert!(parse_type("passport").is_err());
    for ty in profiles::ALL {
        assert_eq!(parse_type(type_alias(ty)).unwrap().id, ty.id);
    }
    assert_eq!(parse_reason("superseded").unwrap(), 4);
    assert_eq!(parse_reason("KEY_COMPROMISE").unwrap(), 1);
    assert_eq!(parse_reason("77").unwrap(), 77);
    assert!(parse_reason("because").is_err());
    assert_eq!(reason_name(6), Some("certificate-hold"));
    let id = [9u8; 32];
    assert_eq!(parse_credential_id(&hex::encode(id)).unwrap(), id);
    assert_eq!(parse_credential_id(&URL_SAFE_NO_PAD.encode(id)).unwrap(), id);
    assert!(parse_credential_id("abcd").is_err());
}

#[test]
fn pending_records_round_trip_and_refuse_a_foreign_entry() {
    let issuer = SecretKey::from_seed(&[1; 32]);
    let holder = SecretKey::from_seed(&[2; 32]).public_key();
    let ty = &profiles::DIPLOMA;
    let mut rng = certledger_core::testkit::SeededRng::from_label("pending");
    let claims = certledger_core::testkit::example_claims(ty);
    let p = Pending::issue(&issuer, ty, &claims, &holder, "c", 1000, &mut rng).unwrap();
    assert_eq!(Pending::from_json(&p.to_json()).unwrap(), p);
    let other = Pending::issue(&issuer, ty, &claims, &holder, "c", 1000, &mut rng).unwrap();
    let mut v = p.to_json();
    v["entry"] = other.to_json()["entry"].clone();
    assert!(Pending::from_json(&v).is_err());
    // Claims that do not fit the type are an input error.
    let e =
        Pending::issue(&issuer, ty, &json!({"name": "x"}), &holder, "c", 1, &mut rng).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_INPUT);
}

/// A key's own compromise report is never backdated (the ledger would refuse it, and a
/// thief must not invalidate earlier credentials): refused before submitting; "now" is
/// dated to the first time the ledger surely accepts.
#[test]
fn a_self_reported_compromise_is_never_in_the_past() {
    let now = 1_800_000_000;
    for past in [0, now - 3600, now - 1] {
        let e = self_reported_since(past, now).unwrap_err();
        assert_eq!(exit_code(&e), EXIT_INPUT, "{past}");
        assert!(e.to_string().contains("--admin-key"), "{e}");
    }
    assert_eq!(self_reported_since(now, now).unwrap(), now + SELF_REPORT_LEAD_S);
    assert_eq!(self_reported_since(now + 3600, now).unwrap(), now + 3600);
}
