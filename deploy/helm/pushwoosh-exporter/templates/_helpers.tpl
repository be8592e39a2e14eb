{{/*
Names, labels and the paths every template agrees on. Each helper takes this chart's scope:
`.` in this chart's templates, `(index .Subcharts "pushwoosh-exporter")` in a host chart.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "pushwoosh-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: <release>-<name>, or the release name if it has the name. */}}
{{- define "pushwoosh-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Namespace of every object. */}}
{{- define "pushwoosh-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label (never in selectors). */}}
{{- define "pushwoosh-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that never change over the release's life: the selector. */}}
{{- define "pushwoosh-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pushwoosh-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "pushwoosh-exporter.labels" -}}
helm.sh/chart: {{ include "pushwoosh-exporter.chart" . }}
{{ include "pushwoosh-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ include "pushwoosh-exporter.version" . | quote }}
app.kubernetes.io/component: exporter
app.kubernetes.io/part-of: pushwoosh-exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The exporter version deployed: the image tag, else the chart's appVersion. */}}
{{- define "pushwoosh-exporter.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* registry/repository:tag, or @digest when a digest is given. */}}
{{- define "pushwoosh-exporter.image" -}}
{{- $repository := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repository = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "pushwoosh-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pushwoosh-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Whether this release runs as a StatefulSet of shards. */}}
{{- define "pushwoosh-exporter.sharded" -}}
{{- if and (gt (int .Values.shards) 1) (not .Values.sidecar.enabled) }}true{{ end }}
{{- end }}

{{/* Paths inside the container. */}}
{{- define "pushwoosh-exporter.configDir" -}}/etc/pushwoosh-exporter/config{{- end }}
{{- define "pushwoosh-exporter.tokenDir" -}}/etc/pushwoosh-exporter/secrets{{- end }}
{{- define "pushwoosh-exporter.webDir" -}}/etc/pushwoosh-exporter/web{{- end }}
{{- define "pushwoosh-exporter.stateDir" -}}/var/lib/pushwoosh-exporter{{- end }}

{{/* The Secret holding the token: existingSecret.name, else the one this chart makes. */}}
{{- define "pushwoosh-exporter.tokenSecretName" -}}
{{- if .Values.existingSecret.name }}
{{- .Values.existingSecret.name }}
{{- else }}
{{- printf "%s-token" (include "pushwoosh-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Install-time checks of values that no schema can express. */}}
{{- define "pushwoosh-exporter.validate" -}}
{{- if and .Values.token .Values.existingSecret.name }}
{{- fail "pushwoosh-exporter: set either token or existingSecret.name, not both" }}
{{- end }}
{{- if not (or .Values.token .Values.existingSecret.name) }}
{{- fail "pushwoosh-exporter: the Pushwoosh API token is missing: set existingSecret.name (a Secret you created) or token" }}
{{- end }}
{{- if and .Values.sidecar.enabled (not .Values.sidecar.podSelector) }}
{{- fail "pushwoosh-exporter: sidecar.enabled needs sidecar.podSelector (the labels of the pods the exporter runs in)" }}
{{- end }}
{{- end }}

{{- define "pushwoosh-exporter.tokenSecretKey" -}}
{{- if .Values.existingSecret.name }}{{ .Values.existingSecret.key }}{{ else }}token{{ end }}
{{- end }}

{{/* The config file: values.config with pushwoosh.api_token_file pointing at the mounted token. */}}
{{- define "pushwoosh-exporter.configFile" -}}
{{- $config := deepCopy (default dict .Values.config) }}
{{- $pushwoosh := deepCopy (default dict (get $config "pushwoosh")) }}
{{- $_ := set $pushwoosh "api_token_file" (printf "%s/token" (include "pushwoosh-exporter.tokenDir" .)) }}
{{- $_ := set $config "pushwoosh" $pushwoosh }}
{{- toYaml $config }}
{{- end }}

{{/* The web config file: webConfig.config, completed for tlsSecret and kubelet probes. */}}
{{- define "pushwoosh-exporter.webConfigFile" -}}
{{- $web := deepCopy (default dict .Values.webConfig.config) }}
{{- if and .Values.webConfig.tlsSecret (not (hasKey $web "tls_server_config")) }}
{{- $_ := set $web "tls_server_config" (dict "cert_file" "tls.crt" "key_file" "tls.key") }}
{{- end }}
{{- if and (hasKey $web "basic_auth_users") (not (hasKey $web "unauthenticated_health_probes")) }}
{{- $_ := set $web "unauthenticated_health_probes" true }}
{{- end }}
{{- toYaml $web }}
{{- end }}

{{- define "pushwoosh-exporter.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "pushwoosh-exporter.fullname" .) | trunc 63 | trimSuffix "-") .Values.webConfig.existingSecret }}
{{- end }}

{{/* HTTP or HTTPS: how probes and Prometheus reach the exporter. */}}
{{- define "pushwoosh-exporter.scheme" -}}
{{- if .Values.webConfig.scheme }}
{{- .Values.webConfig.scheme | upper }}
{{- else if and .Values.webConfig.enabled (or .Values.webConfig.tlsSecret (hasKey (default dict .Values.webConfig.config) "tls_server_config")) }}
{{- "HTTPS" }}
{{- else }}
{{- "HTTP" }}
{{- end }}
{{- end }}

{{/* Name of the container port. */}}
{{- define "pushwoosh-exporter.portName" -}}
{{- default "http" .Values.web.portName }}
{{- end }}

{{/*
Pod annotations that roll the pods when the config or a chart-made Secret changes. A host
chart running the exporter as a sidecar adds them to its own pod template.
*/}}
{{- define "pushwoosh-exporter.checksums" -}}
checksum/config: {{ include "pushwoosh-exporter.configFile" . | sha256sum }}
{{- if and .Values.webConfig.enabled (not .Values.webConfig.existingSecret) }}
checksum/web-config: {{ include "pushwoosh-exporter.webConfigFile" . | sha256sum }}
{{- end }}
{{- end }}
