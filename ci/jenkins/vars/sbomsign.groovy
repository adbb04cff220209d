// sbomsign as a Jenkins shared-library step: `sbomsign.produce(...)` and `sbomsign.verify(...)`.
//
// Load the repository (or its ci/jenkins folder) as a shared library, then:
//   sbomsign.produce(artifacts: 'dist/*', keyCredentialsId: 'release-signing-key',
//                    supplier: 'Organization: Example Org')
//   sbomsign.verify(artifacts: 'dist/*', policy: 'policies/release.yaml')
// Both run `sbomsign ci produce|verify --system jenkins`, the engine behind the GitHub Action
// and the GitLab jobs: the arguments below become its SBOMSIGN_* variables and are all
// checked before any work. `artifacts` may name images too (registry:HOST/REPO:TAG,
// oci-dir:DIR:TAG, oci-archive:FILE:TAG): signed and attested where they are stored,
// verified there. The private key comes from a Jenkins "secret file" credential (and its
// password from a "secret text" one), bound for the duration of the step; neither appears
// on a command line or in the log. The steps call the sbomsign CLI already on the agent's
// PATH (see the README for the offline bundle).

// Step argument -> the SBOMSIGN_* variable it sets, and its default.
@groovy.transform.Field
static final Map PRODUCE_ARGS = [
    artifacts: ['SBOMSIGN_ARTIFACTS', null],
    sbomFormats: ['SBOMSIGN_SBOM_FORMATS', 'cyclonedx-json,spdx-json'],
    outputDir: ['SBOMSIGN_OUTPUT_DIR', 'sbom'],
    attest: ['SBOMSIGN_ATTEST', 'cyclonedx,spdx'],
    sign: ['SBOMSIGN_SIGN', ''],
    supplier: ['SBOMSIGN_SUPPLIER', ''],
    author: ['SBOMSIGN_AUTHOR', ''],
    overwrite: ['SBOMSIGN_OVERWRITE', 'true'],
]

@groovy.transform.Field
static final Map VERIFY_ARGS = [
    artifacts: ['SBOMSIGN_ARTIFACTS', null],
    outputDir: ['SBOMSIGN_OUTPUT_DIR', 'sbom'],
    policy: ['SBOMSIGN_POLICY', ''],
    publicKey: ['SBOMSIGN_PUBLIC_KEY', ''],
    certificateIdentity: ['SBOMSIGN_CERTIFICATE_IDENTITY', ''],
    certificateIdentityRegexp: ['SBOMSIGN_CERTIFICATE_IDENTITY_REGEXP', ''],
    certificateOidcIssuer: ['SBOMSIGN_CERTIFICATE_OIDC_ISSUER', ''],
    trustedRoot: ['SBOMSIGN_TRUSTED_ROOT', ''],
    failOn: ['SBOMSIGN_FAIL_ON', 'failed'],
]

def produce(Map args = [:]) {
    List env = variables(args, PRODUCE_ARGS + [keyCredentialsId: null, keyPasswordCredentialsId: null])
    List secrets = []
    if (args.keyCredentialsId) {
        secrets << file(credentialsId: args.keyCredentialsId, variable: 'SBOMSIGN_KEY')
    }
    if (args.keyPasswordCredentialsId) {
        secrets << string(credentialsId: args.keyPasswordCredentialsId, variable: 'SBOMSIGN_KEY_PASSWORD')
    }
    withEnv(env) {
        withCredentials(secrets) {
            sh(label: 'sbomsign produce', script: PRODUCE)
        }
    }
    String outputDir = args.get('outputDir', 'sbom')
    archiveArtifacts(artifacts: "${outputDir}/**, SHA256SUMS, sbomsign-outputs.json, sbomsign-summary.md",
                     allowEmptyArchive: false)
}

def verify(Map args = [:]) {
    List env = variables(args, VERIFY_ARGS)
    withEnv(env) {
        // The gate's verdict is the step's exit code; the reports are published either way.
        int status = sh(label: 'sbomsign verify', returnStatus: true, script: VERIFY)
        junit(testResults: 'sbomsign-verify.junit.xml', allowEmptyResults: status == 2)
        archiveArtifacts(artifacts: 'sbomsign-verify.*, sbomsign-outputs.json, sbomsign-summary.md',
                         allowEmptyArchive: true)
        if (status != 0) {
            error("sbomsign verify failed (exit ${status}): see the test report")
        }
    }
}

// The step's arguments as `withEnv` entries; an unknown argument or a missing required one
// stops the step before anything runs.
private List variables(Map args, Map known) {
    List unknown = args.keySet().findAll { !known.containsKey(it) } as List
    if (unknown) {
        error("sbomsign: unknown argument(s) ${unknown.join(', ')}; known: ${known.keySet().join(', ')}")
    }
    List env = []
    known.each { String name, List spec ->
        if (spec == null) {
            return
        }
        def value = args.containsKey(name) ? args[name] : spec[1]
        if (value == null || value.toString().trim().isEmpty() && spec[1] == null) {
            error("sbomsign: the '${name}' argument is required")
        }
        env << "${spec[0]}=${value}"
    }
    return env
}

// The shell steps, run as plain commands by tests/integration/test_jenkins.py.
@groovy.transform.Field
static final String PRODUCE = 'sbomsign ci produce --system jenkins'

@groovy.transform.Field
static final String VERIFY = 'sbomsign ci verify --system jenkins'
