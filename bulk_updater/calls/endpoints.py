"""The paths of the LeadSquared API calls the tool makes: the client calls them, the sandbox serves them."""

UPDATE_PATH = "/v2/CompanyActivity.svc/Update"  # Update an Account Activity
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"  # who the keys belong to: the key check, whoami
RETRIEVE_PATH = "/v2/CompanyActivity.svc/RetrieveById"  # read an activity: the safety net's reads
