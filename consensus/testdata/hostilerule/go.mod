module hostilerule

go 1.26
