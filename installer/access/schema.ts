// The access: section's schema is part of the config (config/access.ts); access modules read it from here.
export * from '../config/access.ts';
