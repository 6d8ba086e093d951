/** Object identifiers palisade builds or checks. */
export const OID = {
  // public key types
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  dsa: '1.2.840.10040.4.1',
  // curves
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  // signature algorithms
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  md5WithRSA: '1.2.840.113549.1.1.4',
  md2WithRSA: '1.2.840.113549.1.1.2',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecdsaSha1: '1.2.840.10045.4.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  dsaSha1: '1.2.840.10040.4.3',
  // name attributes
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  // extensions
  subjectKeyIdentifier: '2.5.29.14',
  nameConstraints: '2.5.29.30',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  // extended key usages
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

export const CURVE_NAMES: Record<string, string> = {
  [OID.p256]: 'P-256',
  [OID.p384]: 'P-384',
  [OID.p521]: 'P-521',
  '1.3.132.0.10': 'secp256k1',
  '1.2.840.10045.3.1.1': 'P-192',
  '1.3.132.0.33': 'P-224',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
};

export const SIGNATURE_NAMES: Record<string, string> = {
  [OID.sha256WithRSA]: 'sha256WithRSAEncryption',
  [OID.sha384WithRSA]: 'sha384WithRSAEncryption',
  [OID.sha512WithRSA]: 'sha512WithRSAEncryption',
  [OID.sha1WithRSA]: 'sha1WithRSAEncryption',
  [OID.md5WithRSA]: 'md5WithRSAEncryption',
  [OID.md2WithRSA]: 'md2WithRSAEncryption',
  [OID.rsassaPss]: 'RSASSA-PSS',
  [OID.ecdsaSha1]: 'ecdsa-with-SHA1',
  [OID.ecdsaSha256]: 'ecdsa-with-SHA256',
  [OID.ecdsaSha384]: 'ecdsa-with-SHA384',
  [OID.ecdsaSha512]: 'ecdsa-with-SHA512',
  [OID.dsaSha1]: 'dsa-with-SHA1',
  [OID.ed25519]: 'Ed25519',
  [OID.ed448]: 'Ed448',
};

/** Signature algorithms no browser accepts on a certificate any more. */
export const WEAK_SIGNATURES = new Set<string>([OID.sha1WithRSA, OID.md5WithRSA, OID.md2WithRSA, OID.ecdsaSha1, OID.dsaSha1]);

export const NAME_ATTRS: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organization]: 'O',
  [OID.organizationalUnit]: 'OU',
  [OID.country]: 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
};
