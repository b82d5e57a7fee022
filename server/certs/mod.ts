/**
 * HTTPS certificates: the manager that gets and renews them over ACME, the
 * in-memory set the HTTPS listener serves, and the HTTP-01 answers.
 * @module
 */
export {
  backoff,
  CertManager,
  type CertManagerOptions,
  type CertStatus,
  renewAt,
  retryAfterOf,
} from "./cert_manager.ts";
export { Challenges } from "./challenges.ts";
export { certFacts, pemBlocks } from "./cert_facts.ts";
export type { Issuer, IssueResult } from "./acme_issuer.ts";
export type { AcmeJob } from "./acme_protocol.ts";
export { type CertificateProvider, type KeyPair, TlsCertificates } from "./tls_certificates.ts";
export { certifiableDomain, type WantedName, wantedNames } from "./wanted_names.ts";
