module loopguest

go 1.26
