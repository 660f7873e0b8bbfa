# syntax=docker/dockerfile:1
# Multi-stage build: uv resolves the locked dependencies in a builder, the runtime image
# gets only the virtual environment and runs as an unprivileged user.

FROM python:3.11-slim AS builder
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, so code changes do not re-install them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 carebot \
    && mkdir -p /data && chown carebot:carebot /data
COPY --from=builder --chown=carebot:carebot /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER carebot
WORKDIR /home/carebot
# The embedded PostgreSQL keeps its files here when DATABASE_URL is not set.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4)"
CMD ["carebot", "serve"]
