-- Imported key material (KMS keys of origin EXTERNAL): when it expires, and a keyed fingerprint
-- of it, so that material imported again after deletion or expiry must be the same material.
ALTER TABLE kms_keys ADD COLUMN valid_to INTEGER;
ALTER TABLE kms_keys ADD COLUMN material_fingerprint BLOB;
