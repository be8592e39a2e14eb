{{/*
The exporter container, its volumes and the pod around them. `pushwoosh-exporter.container`
and `pushwoosh-exporter.volumes` are the sidecar helpers: a host chart that depends on this
chart includes them in its own pod with this chart's scope, e.g.

  containers:
    {{- include "pushwoosh-exporter.container" (index .Subcharts "pushwoosh-exporter") | nindent 4 }}
  volumes:
    {{- include "pushwoosh-exporter.volumes" (index .Subcharts "pushwoosh-exporter") | nindent 4 }}

Each renders a YAML list (items start with "- "). Volume names carry a "pushwoosh-" prefix
so they do not clash with the host pod's.
*/}}

{{/* One probe from values: an httpGet gets the container port and the web scheme. */}}
{{- define "pushwoosh-exporter.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if hasKey $probe "httpGet" }}
{{- $_ := set $probe "httpGet" (merge (deepCopy $probe.httpGet) (dict "port" (include "pushwoosh-exporter.portName" .scope) "scheme" (include "pushwoosh-exporter.scheme" .scope))) }}
{{- end }}
{{- toYaml $probe }}
{{- end }}

{{- define "pushwoosh-exporter.container" -}}
- name: {{ include "pushwoosh-exporter.name" . }}
  image: {{ include "pushwoosh-exporter.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - --config.file={{ include "pushwoosh-exporter.configDir" . }}/config.yaml
    - --web.listen-address=:{{ .Values.web.port }}
    - --web.telemetry-path={{ .Values.web.telemetryPath }}
    - --state.file={{ include "pushwoosh-exporter.stateDir" . }}/state.json
    - --log.level={{ .Values.log.level }}
    - --log.format={{ .Values.log.format }}
    {{- if .Values.webConfig.enabled }}
    - --web.config.file={{ include "pushwoosh-exporter.webDir" . }}/web.yml
    {{- end }}
    {{- if include "pushwoosh-exporter.sharded" . }}
    {{- /* Kubernetes expands $(POD_NAME); the exporter takes the ordinal after the last "-". */}}
    - --shard=$(POD_NAME)/{{ int .Values.shards }}
    {{- end }}
    {{- with .Values.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or (include "pushwoosh-exporter.sharded" .) .Values.extraEnv }}
  env:
    {{- if include "pushwoosh-exporter.sharded" . }}
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  ports:
    - name: {{ include "pushwoosh-exporter.portName" . }}
      containerPort: {{ .Values.web.port }}
      protocol: TCP
  {{- with .Values.livenessProbe }}
  livenessProbe:
    {{- include "pushwoosh-exporter.probe" (dict "probe" . "scope" $) | nindent 4 }}
  {{- end }}
  {{- with .Values.readinessProbe }}
  readinessProbe:
    {{- include "pushwoosh-exporter.probe" (dict "probe" . "scope" $) | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: pushwoosh-config
      mountPath: {{ include "pushwoosh-exporter.configDir" . }}
      readOnly: true
    - name: pushwoosh-token
      mountPath: {{ include "pushwoosh-exporter.tokenDir" . }}
      readOnly: true
    - name: pushwoosh-state
      mountPath: {{ include "pushwoosh-exporter.stateDir" . }}
    {{- if .Values.webConfig.enabled }}
    - name: pushwoosh-web-config
      mountPath: {{ include "pushwoosh-exporter.webDir" . }}
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The volumes the container mounts. The state volume is an emptyDir, or a claim when
persistence is on (a StatefulSet brings its claims from volumeClaimTemplates instead).
*/}}
{{- define "pushwoosh-exporter.volumes" -}}
- name: pushwoosh-config
  configMap:
    name: {{ include "pushwoosh-exporter.fullname" . }}
- name: pushwoosh-token
  secret:
    secretName: {{ include "pushwoosh-exporter.tokenSecretName" . }}
    items:
      - key: {{ include "pushwoosh-exporter.tokenSecretKey" . }}
        path: token
    {{- /* Group-readable through the pod's fsGroup; a host pod may have none, so world-readable there. */}}
    defaultMode: {{ ternary "0444" "0440" (.Values.sidecar.enabled | default false) }}
{{- if not (and (include "pushwoosh-exporter.sharded" .) .Values.persistence.enabled) }}
- name: pushwoosh-state
  {{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (include "pushwoosh-exporter.fullname" .) .Values.persistence.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ .Values.stateSizeLimit }}
  {{- end }}
{{- end }}
{{- if .Values.webConfig.enabled }}
- name: pushwoosh-web-config
  projected:
    defaultMode: {{ ternary "0444" "0440" (.Values.sidecar.enabled | default false) }}
    sources:
      - secret:
          name: {{ include "pushwoosh-exporter.webConfigSecretName" . }}
          items:
            - key: web.yml
              path: web.yml
      {{- with .Values.webConfig.tlsSecret }}
      - secret:
          name: {{ . }}
          items:
            - key: tls.crt
              path: tls.crt
            - key: tls.key
              path: tls.key
      {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod template of the Deployment or the StatefulSet. */}}
{{- define "pushwoosh-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "pushwoosh-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- include "pushwoosh-exporter.checksums" . | nindent 4 }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "pushwoosh-exporter.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    {{- include "pushwoosh-exporter.container" . | nindent 4 }}
  volumes:
    {{- include "pushwoosh-exporter.volumes" . | nindent 4 }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
