// sbomsign as a Jenkins shared-library step: `sbomsign.produce(...)` and `sbomsign.verify(...)`.
//
// Load the repository (or its ci/jenkins folder) as a shared library, then:
//   sbomsign.produce(artifacts: 'dist/*', keyCredentialsId: 'release-signing-key',
//                    supplier: 'Organization: Example Org')
//   sbomsign.verify(artifacts: 'dist/*', policy: 'policies/release.yaml')
// `artifacts` may name images too (registry:HOST/REPO:TAG, oci-dir:DIR:TAG,
// oci-archive:FILE:TAG): signed and attested where they are stored, verified there.
// The private key comes from a Jenkins "secret file" credential, bound to a file for the
// duration of the step; it never appears on a command line or in the log. Both steps call the
// sbomsign CLI already on the agent's PATH (see the README for the offline bundle).

def produce(Map args = [:]) {
    String artifacts = required(args, 'artifacts')
    String formats = args.get('sbomFormats', 'cyclonedx-json,spdx-json')
    String outputDir = args.get('outputDir', 'sbom')
    Map env = [
        SBOMSIGN_ARTIFACTS: artifacts, SBOMSIGN_SBOM_FORMATS: formats,
        SBOMSIGN_OUTPUT_DIR: outputDir, SBOMSIGN_SUPPLIER: args.get('supplier', ''),
        SBOMSIGN_AUTHOR: args.get('author', ''),
    ]
    withEnv(env.collect { k, v -> "${k}=${v}" }) {
        sh(label: 'sbomsign sbom', script: '''
            set -eu
            set -- $SBOMSIGN_ARTIFACTS
            sbomsign sbom --format "$SBOMSIGN_SBOM_FORMATS" --output-dir "$SBOMSIGN_OUTPUT_DIR" \
              ${SBOMSIGN_SUPPLIER:+--supplier "$SBOMSIGN_SUPPLIER"} \
              ${SBOMSIGN_AUTHOR:+--author "$SBOMSIGN_AUTHOR"} "$@"
        ''')
        if (args.keyCredentialsId) {
            withCredentials([file(credentialsId: args.keyCredentialsId, variable: 'SBOMSIGN_KEY')]) {
                sh(label: 'sbomsign sign and attest', script: SIGN_AND_ATTEST)
            }
        }
    }
    archiveArtifacts(artifacts: "${outputDir}/**, **/*.sigstore.json", allowEmptyArchive: false)
}

def verify(Map args = [:]) {
    String artifacts = required(args, 'artifacts')
    Map env = [
        SBOMSIGN_ARTIFACTS: artifacts, SBOMSIGN_POLICY: args.get('policy', ''),
        SBOMSIGN_PUBLIC_KEY: args.get('publicKey', ''),
        SBOMSIGN_TRUSTED_ROOT: args.get('trustedRoot', ''),
    ]
    withEnv(env.collect { k, v -> "${k}=${v}" }) {
        // The gate's verdict is the step's exit code; the reports are published either way.
        int status = sh(label: 'sbomsign verify', returnStatus: true, script: VERIFY)
        junit(testResults: 'sbomsign-gate.junit.xml', allowEmptyResults: false)
        archiveArtifacts(artifacts: 'sbomsign-gate.*', allowEmptyArchive: false)
        if (status != 0) {
            error("sbomsign verify failed (exit ${status}): see the test report")
        }
    }
}

private String required(Map args, String name) {
    if (!args.get(name)) {
        error("sbomsign: the '${name}' argument is required")
    }
    return args.get(name) as String
}

// The shell steps, shared with ci/jenkins/Jenkinsfile's comments and run as plain commands by
// tests/integration/test_jenkins.py.
@groovy.transform.Field
static final String SIGN_AND_ATTEST = '''
    set -eu
    files=""
    for a in $SBOMSIGN_ARTIFACTS; do
      case "$a" in
        registry:*|oci-dir:*|oci-archive:*)
          # An image is signed where it is stored (each platform of an index too), and each
          # platform gets the attested SBOM of itself, attached as OCI referrers.
          sbomsign sign --key "$SBOMSIGN_KEY" --recursive "$a"
          case "$SBOMSIGN_SBOM_FORMATS" in *cyclonedx*) sbomsign attest --key "$SBOMSIGN_KEY" --recursive --type cyclonedx "$a" ;; esac
          case "$SBOMSIGN_SBOM_FORMATS" in *spdx*) sbomsign attest --key "$SBOMSIGN_KEY" --recursive --type spdx "$a" ;; esac
          ;;
        *) files="$files $a" ;;
      esac
    done
    set -- $files
    [ $# -eq 0 ] || sbomsign sign --key "$SBOMSIGN_KEY" --overwrite "$@"
    for a in "$@"; do
      base=$(basename "$a")
      for sbom in "$SBOMSIGN_OUTPUT_DIR/$base".cdx.json "$SBOMSIGN_OUTPUT_DIR/$base".spdx.json; do
        [ -f "$sbom" ] || continue
        case "$sbom" in *.cdx.json) type=cyclonedx ;; *) type=spdx ;; esac
        sbomsign attest --key "$SBOMSIGN_KEY" --type "$type" --predicate "$sbom" --overwrite "$a"
      done
    done
'''

@groovy.transform.Field
static final String VERIFY = '''
    set -eu
    set -- $SBOMSIGN_ARTIFACTS
    if [ -n "$SBOMSIGN_POLICY" ]; then trust="--policy $SBOMSIGN_POLICY"
    elif [ -n "$SBOMSIGN_PUBLIC_KEY" ]; then trust="--key $SBOMSIGN_PUBLIC_KEY"
    else echo "sbomsign: give policy or publicKey" >&2; exit 2
    fi
    sbomsign verify $trust ${SBOMSIGN_TRUSTED_ROOT:+--trusted-root "$SBOMSIGN_TRUSTED_ROOT"} \
      --format junit -o sbomsign-gate.junit.xml --format json -o sbomsign-gate.json \
      --format text "$@"
'''
