def hello() -> str:
    return "Hello from debussy!"
