-- Set once every tag of a secret was removed: DescribeSecret then answers `"Tags": []`, as AWS
-- does, where a secret never tagged has no Tags member.
ALTER TABLE sm_secrets ADD COLUMN tags_listed BOOLEAN NOT NULL DEFAULT FALSE;
