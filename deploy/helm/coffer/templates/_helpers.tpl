{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "coffer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "coffer.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "coffer.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "coffer.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "coffer.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "coffer.labels" -}}
{{ include "coffer.commonLabels" . }}
{{ include "coffer.selectorLabels" . }}
{{- end -}}

{{- define "coffer.csiLabels" -}}
{{ include "coffer.commonLabels" . }}
{{ include "coffer.csiSelectorLabels" . }}
{{- end -}}

{{- define "coffer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coffer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "coffer.csiSelectorLabels" -}}
app.kubernetes.io/name: {{ include "coffer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: csi-provider
{{- end -}}

{{- define "coffer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "coffer.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "coffer.csiServiceAccountName" -}}
{{- default (printf "%s-csi-provider" (include "coffer.fullname" .)) .Values.csiProvider.serviceAccount.name -}}
{{- end -}}

{{- define "coffer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "coffer.csiImage" -}}
{{- $repo := default .Values.image.repository .Values.csiProvider.image.repository -}}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.csiProvider.image.tag -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* Store and TLS -------------------------------------------------------------------------- */}}

{{- define "coffer.postgres" -}}
{{- if .Values.postgres.urlSecret.name -}}true{{- end -}}
{{- end -}}

{{- define "coffer.scheme" -}}
{{- if eq .Values.tls.mode "insecureHttp" -}}HTTP{{- else -}}HTTPS{{- end -}}
{{- end -}}

{{/* The TLS Secret mounted into the server (modes secret and certManager). */}}
{{- define "coffer.tlsSecretName" -}}
{{- if eq .Values.tls.mode "certManager" -}}
{{- default (printf "%s-tls" (include "coffer.fullname" .)) .Values.tls.secretName -}}
{{- else -}}
{{- .Values.tls.secretName -}}
{{- end -}}
{{- end -}}

{{/* The Service's DNS names, then tls.extraNames: one per line. */}}
{{- define "coffer.dnsNames" -}}
{{- $svc := include "coffer.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{ $svc }}
{{ printf "%s.%s" $svc $ns }}
{{ printf "%s.%s.svc" $svc $ns }}
{{ printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain }}
{{- range .Values.tls.extraNames }}
{{ . }}
{{- end }}
{{- end -}}

{{- define "coffer.endpointUrl" -}}
{{- if .Values.csiProvider.endpointUrl -}}
{{- .Values.csiProvider.endpointUrl -}}
{{- else -}}
{{- printf "%s://%s.%s.svc:%v" (include "coffer.scheme" . | lower) (include "coffer.fullname" .) .Release.Namespace .Values.service.port -}}
{{- end -}}
{{- end -}}

{{/* Refuse values that cannot work, with the fix in the message. */}}
{{- define "coffer.validate" -}}
{{- if not .Values.masterKey.existingSecret -}}
{{- fail "masterKey.existingSecret is required: kubectl create secret generic coffer-master-key --from-literal=key=\"$(head -c 32 /dev/urandom | base64)\" and --set masterKey.existingSecret=coffer-master-key" -}}
{{- end -}}
{{- if not (has .Values.tls.mode (list "selfSigned" "secret" "certManager" "insecureHttp")) -}}
{{- fail (printf "tls.mode must be selfSigned, secret, certManager or insecureHttp, not %q" .Values.tls.mode) -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "secret") (not .Values.tls.secretName) -}}
{{- fail "tls.mode=secret needs tls.secretName (a kubernetes.io/tls Secret with tls.crt and tls.key)" -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "certManager") (not .Values.tls.certManager.issuerRef.name) -}}
{{- fail "tls.mode=certManager needs tls.certManager.issuerRef.name" -}}
{{- end -}}
{{- if include "coffer.postgres" . -}}
{{- if eq .Values.tls.mode "selfSigned" -}}
{{- fail "tls.mode=selfSigned makes one CA per data directory, so it cannot serve several PostgreSQL replicas: use tls.mode=certManager or secret" -}}
{{- end -}}
{{- if not .Values.rootCredentials.existingSecret -}}
{{- fail "with PostgreSQL every replica must start with the same administrator key: set rootCredentials.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.csiProvider.enabled (eq .Values.tls.mode "selfSigned") (not .Values.caBundle.configMap) -}}
{{- fail "csiProvider with tls.mode=selfSigned needs caBundle.configMap: publish coffer's CA (see caBundle in values.yaml) or use tls.mode=certManager" -}}
{{- end -}}
{{- end -}}
