/**
 * Keys and PKI: the cluster CA chain, leaf certificates and service secrets
 * (node:crypto keys and signatures, DER written here), and checking an
 * operator's own certificate before it is installed.
 */
export { generateKeySet, ensureKeySet, renewEntry, keySetView, keySetSpecs, KEY_NAMES, type KeySet, type KeySetInput, type CertView, type EntrySink } from './keyset.ts';
export { createRootCa, createIntermediateCa, issueCertificate, loadCa, fingerprintOf, type CertificateAuthority, type Issued, type LeafOptions } from './ca.ts';
export { generateKeyPair, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from './x509.ts';
