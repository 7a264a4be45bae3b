// Result and option shapes of the certledger verifier's WebAssembly exports.
// This file is hand-written; wasm-bindgen also copies it into pkg/certledger_verifier.d.ts.

/** Options for create_request, as JSON. Lists may be unsorted and repeat; the request sorts them. */
export interface RequestOptionsJs {
  verifier_id: string;
  /** Shown to the citizen by the wallet. */
  purpose: string;
  /** Claim names that must be disclosed; each must be defined by one of the credential types. */
  claims: string[];
  /** Accepted credential type ids (vct), from profiles(). */
  credential_types: string[];
  /** The KB-JWT audience; defaults to verifier_id. */
  audience?: string;
  /** Seconds until the request expires; default 600, at most 86400. */
  lifetime_s?: number;
}

/** A presentation request in JSON form (specs/request.md). */
export interface PresentationRequestJson {
  version: 2;
  verifier_id: string;
  purpose: string;
  claims: string[];
  credential_types: string[];
  /** Unpadded base64url, 16 to 64 bytes. */
  nonce: string;
  audience: string;
  created_at: number;
  expires_at: number;
  /** The counter's Ed25519 signature over the other fields (namespace
   * certledger/v1/verifier-request), unpadded base64url of 64 bytes. */
  signature: string;
}

/** What signing_public_key returns, as JSON: the counter key's public half, to register. */
export interface CounterPublicKey {
  base64url: string;
  hex: string;
}

/** What create_request and parse_request return, as JSON. */
export interface CreatedRequest {
  request: PresentationRequestJson;
  /** The compact text form for QR codes: "CLR1." + base64url. */
  text: string;
}

/** One claim of a credential type, for display. */
export interface ClaimInfo {
  name: string;
  label_en: string;
  label_zh: string;
  selectively_disclosable: boolean;
}

/** One shipped credential type, as returned (as JSON) by profiles(). */
export interface CredentialTypeInfo {
  id: string;
  name_en: string;
  name_zh: string;
  holder_binding: boolean;
  claims: ClaimInfo[];
}

/** A disclosed claim in a verification result. */
export interface VerifiedClaim {
  name: string;
  value: string | number | boolean | null;
  label_en: string;
  label_zh: string;
}

/**
 * A credential presented together with the main one (bundles with the identity extension,
 * specs/identity.md), proven to belong to the same holder.
 */
export interface LinkedCredential {
  /** Always true: same holder as the main credential ("同一持有人：是 / same holder: yes"). */
  linked: true;
  credential_type: { id: string; name_en: string; name_zh: string };
  issuer_department: string;
  /** The issuing ledger and department, named (specs/trust-list.md). */
  issued_by: IssuedBy | null;
  claims: VerifiedClaim[];
  anchored_at: number;
  checkpoint_height: number;
  checkpoint_time: number;
  expires_at: number | null;
}

/**
 * What verify_bundle and Verifier.verify return. "invalid" is a decision; "error" means it could
 * not decide. The top-level credential fields describe the main credential.
 */
export interface VerifyResult {
  status: "valid" | "invalid" | "error";
  /**
   * null when valid; for "invalid" a reason code of specs/bundle.md (including
   * bad_pseudonym_proof and bad_link_proof for the identity extension); for "error" one of
   * malformed_bundle, malformed_trust_root, malformed_policy, bad_time.
   */
  reason_code: string | null;
  reason_en: string | null;
  reason_zh: string | null;
  credential_type: { id: string; name_en: string; name_zh: string } | null;
  issuer_department: string | null;
  /** The issuing ledger and department, named, when valid (specs/trust-list.md). */
  issued_by: IssuedBy | null;
  claims: VerifiedClaim[];
  anchored_at: number | null;
  checkpoint_height: number | null;
  checkpoint_time: number | null;
  /** Credential expiry (Unix seconds), when valid and the credential has one. */
  expires_at: number | null;
  /**
   * When valid and the bundle carried a pseudonym proof: the wallet's pseudonym for this verifier
   * (unpadded base64url of an Ed25519 public key, 43 characters), the verifier's stable account
   * key for the citizen; unlinkable to the pseudonyms other verifiers see. Otherwise null.
   */
  pseudonym: string | null;
  /** Always false: these fields describe the main credential (see linked_credentials). */
  linked: false;
  /** When valid: the credentials presented with the main one, in bundle order; else []. */
  linked_credentials: LinkedCredential[];
}

/** The policy JSON verify_bundle takes (certledger_core::verify::Policy); limits are optional. */
export interface PolicyJson {
  challenge: { nonce: string; audience: string };
  max_checkpoint_age_s?: number;
  max_presentation_age_s?: number;
  max_clock_skew_s?: number;
  accepted_types?: string[];
  min_assurance_level?: number | null;
  required_claims?: string[];
}

/** What collect_bundle_parts returns, as JSON. */
export interface PartsProgress {
  complete: boolean;
  /** The joined CLB1. text once complete, else null. */
  text: string | null;
  have: number;
  total: number;
  /** Pass back as parts_json with the next scan. */
  parts: string[];
}

/** A trust root in JSON form (specs/bundle.md, specs/verifier.md). */
export interface TrustRootJson {
  version: 1;
  chain_id: string;
  /** C2SP note verifier keys "name+keyid+base64", one per department. */
  keys: string[];
  threshold: number;
  /**
   * Optional: the departments behind `keys` (same order) with their admin keys, which makes the
   * root followable: follow_validator_chain can start from it.
   */
  departments?: {
    id: string;
    name_zh: string;
    name_en: string;
    /** base64url, 32 bytes. */
    node_key: string;
    /** base64url, 32 bytes each, strictly ascending. */
    admin_keys: string[];
  }[];
}

/** What Verifier.cache_stats returns. */
/** Which ledger and which of its departments issued a credential (签发账本与部门). */
export interface IssuedBy {
  chain_id: string;
  ledger_zh: string;
  ledger_en: string;
  department_zh: string;
  department_en: string;
}

/** Whether a newly loaded trust file may replace the one in use (`next_trust`). */
export interface TrustUpdate {
  status: "ok" | "error";
  /** Ledgers in the new list, when ok. */
  ledgers?: number;
  /** e.g. "rollback", "not_approved", "conflict", "malformed", when an error. */
  reason_code?: string;
  reason_en?: string;
  reason_zh?: string;
}

/** A ledger on the verifier's trust list (`Verifier.ledgers()`). */
export interface TrustLedger {
  chain_id: string;
  name_zh: string;
  name_en: string;
  /** False for a plain trust root (its names are its chain id). */
  signed: boolean;
  sequence: number;
  /** 16 hex digits to compare with the one the province publishes; null for a plain root. */
  fingerprint: string | null;
  keys: number;
  threshold: number;
}

export interface CacheStats {
  /** Checkpoint notes held (at most 64). */
  entries: number;
  /** Bundles whose checkpoint was found in the cache. */
  hits: number;
  /** Bundles whose checkpoint was verified in full. */
  misses: number;
}

/** What follow_validator_chain returns. */
export interface FollowResult {
  status: "ok" | "error";
  /** On error: malformed_trust_root, not_followable, malformed_chain or chain_refused. */
  error_code: string | null;
  message_en: string | null;
  message_zh: string | null;
  /** On success: today's trust root (with departments); load it as the trust root. */
  trust_root: TrustRootJson | null;
  /** On success: today's departments. */
  departments: { id: string; name_zh: string; name_en: string }[];
  /** On success: how many validator changes were followed. */
  changes: number | null;
  /** On success: height and time (Unix seconds) of the checkpoint that proves today's set. */
  head_height: number | null;
  head_time: number | null;
}
