# securelink: one image for both services; docker-compose.yml picks the command.
# Build stage: a regular (non-editable) wheel, so lua/ travels inside it as shared/lua.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY redirector ./redirector
COPY admin_api ./admin_api
COPY lua ./lua
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SECURELINK_HOST=0.0.0.0 \
    SECURELINK_DATA_DIR=/data/files
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /home/securelink --create-home securelink \
    && mkdir -p /data/files \
    && chown securelink:securelink /data/files
# A named volume mounted on /data/files starts with this directory's owner, so the
# non-root user can write uploads into it.
USER securelink
WORKDIR /home/securelink
EXPOSE 8080 8081
CMD ["python", "-m", "redirector"]
