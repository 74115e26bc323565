{{/* The server's pod template, shared by the StatefulSet (SQLite) and the Deployment (PostgreSQL). */}}
{{- define "coffer.podTemplate" -}}
metadata:
  labels:
    {{- include "coffer.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "coffer.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . | quote }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: coffer
      image: {{ include "coffer.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: ["coffer"]
      args:
        - server
        - --listen=0.0.0.0:4566
        # A directory coffer makes itself: it sets its data directory to 0700, which it cannot
        # do to a volume's root that it does not own.
        - --data-dir=/var/lib/coffer/data
        {{- if .Values.config }}
        - --config=/etc/coffer/config/coffer.toml
        {{- end }}
        {{- if eq .Values.tls.mode "selfSigned" }}
        - --tls-self-signed
        {{- range (include "coffer.dnsNames" . | splitList "\n") }}
        - --tls-name={{ . }}
        {{- end }}
        {{- else if eq .Values.tls.mode "insecureHttp" }}
        - --insecure-http
        {{- else }}
        - --tls-cert=/etc/coffer/tls/tls.crt
        - --tls-key=/etc/coffer/tls/tls.key
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: COFFER_MASTER_KEY
          valueFrom:
            secretKeyRef:
              name: {{ .Values.masterKey.existingSecret }}
              key: {{ .Values.masterKey.key }}
        {{- if .Values.rootCredentials.existingSecret }}
        - name: COFFER_ROOT_ACCESS_KEY_ID
          valueFrom:
            secretKeyRef:
              name: {{ .Values.rootCredentials.existingSecret }}
              key: {{ .Values.rootCredentials.accessKeyIdKey }}
        - name: COFFER_ROOT_SECRET_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ .Values.rootCredentials.existingSecret }}
              key: {{ .Values.rootCredentials.secretAccessKeyKey }}
        {{- end }}
        {{- if include "coffer.postgres" . }}
        - name: COFFER_STORE_URL
          valueFrom:
            secretKeyRef:
              name: {{ .Values.postgres.urlSecret.name }}
              key: {{ .Values.postgres.urlSecret.key }}
        {{- end }}
        {{- with .Values.accountId }}
        - name: COFFER_ACCOUNT_ID
          value: {{ . | quote }}
        {{- end }}
        - name: COFFER_LOG_FORMAT
          value: {{ .Values.log.format | quote }}
        - name: COFFER_LOG
          value: {{ .Values.log.level | quote }}
        {{- if .Values.oidc.providers }}
        - name: COFFER_OIDC_JWKS
          value: {{ include "coffer.oidcJwks" . | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: api
          containerPort: 4566
          protocol: TCP
      startupProbe:
        httpGet:
          path: /health
          port: 4566
          scheme: {{ include "coffer.scheme" . }}
        periodSeconds: {{ .Values.probes.startup.periodSeconds }}
        failureThreshold: {{ .Values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet:
          path: /health
          port: 4566
          scheme: {{ include "coffer.scheme" . }}
        periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet:
          path: /health
          port: 4566
          scheme: {{ include "coffer.scheme" . }}
        periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/coffer
        - name: tmp
          mountPath: /tmp
        {{- if .Values.config }}
        - name: config
          mountPath: /etc/coffer/config
          readOnly: true
        {{- end }}
        {{- if .Values.oidc.providers }}
        - name: oidc
          mountPath: /etc/coffer/oidc
          readOnly: true
        {{- end }}
        {{- if has .Values.tls.mode (list "secret" "certManager") }}
        - name: tls
          mountPath: /etc/coffer/tls
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
    {{- if or (include "coffer.postgres" .) (not .Values.persistence.enabled) }}
    - name: data
      emptyDir: {}
    {{- end }}
    {{- if .Values.config }}
    - name: config
      configMap:
        name: {{ include "coffer.fullname" . }}
        items:
          - key: coffer.toml
            path: coffer.toml
    {{- end }}
    {{- if .Values.oidc.providers }}
    - name: oidc
      configMap:
        name: {{ include "coffer.fullname" . }}-oidc
    {{- end }}
    {{- if has .Values.tls.mode (list "secret" "certManager") }}
    - name: tls
      secret:
        secretName: {{ include "coffer.tlsSecretName" . }}
        defaultMode: 0440
        items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* COFFER_OIDC_JWKS: ISSUER=SOURCE,... (an inline JWKS is a file of the -oidc ConfigMap). */}}
{{- define "coffer.oidcJwks" -}}
{{- $entries := list -}}
{{- range $i, $p := .Values.oidc.providers -}}
{{- if $p.jwks -}}
{{- $entries = append $entries (printf "%s=/etc/coffer/oidc/jwks-%d.json" $p.issuer $i) -}}
{{- else if $p.jwksUrl -}}
{{- $entries = append $entries (printf "%s=%s" $p.issuer $p.jwksUrl) -}}
{{- else -}}
{{- fail (printf "oidc.providers[%d] (%s) needs jwks or jwksUrl" $i $p.issuer) -}}
{{- end -}}
{{- end -}}
{{- join "," $entries -}}
{{- end -}}
