# tradekernel runtime image. Build: docker build -t tradekernel .
# Installs exactly the locked dependencies (hash-checked), then the project, and runs as a non-root user.
FROM python:3.11.7-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.lock ./
RUN python -m pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip install --no-deps --no-build-isolation . \
    && useradd --create-home --uid 10001 trader \
    && mkdir -p /var/lib/tradekernel \
    && chown trader /var/lib/tradekernel

USER 10001
WORKDIR /var/lib/tradekernel
# State (journal, reports) lives in the working directory; mount a volume here to keep it.
VOLUME ["/var/lib/tradekernel"]

ENTRYPOINT ["python", "-m", "interfaces.cli"]
CMD ["start"]
